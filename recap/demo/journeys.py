"""Journeys through the made-up shop and its help center, with the ground truth written down.

`play_ground_truth_journey` is one deliberate session: two tabs, every frustration signal
the compiler detects placed once where it cannot be mistaken for another, and clean
actions around them. `play_shop_traffic` repeats ordinary visits for large recordings.
"""

from __future__ import annotations

from collections.abc import Callable

from recap.demo.generator import SimulatedBrowser, SimulatedTab, tag
from recap.demo.shop import (
    BUSY,
    CATALOG,
    COLLECTIONS,
    HELP,
    NOT_BUSY,
    PRODUCTS_BY_SLUG,
    RETURNS_ARTICLE,
    SHIPPING_ARTICLE,
    SHOP,
    Product,
    added_to_cart_toast,
    card_declined_banner,
    cart_body,
    checkout_body,
    collection_body,
    confirmation_body,
    contact_body,
    help_article,
    help_header,
    help_results,
    home_body,
    log_card_declined,
    log_reviews_widget_error,
    orders_body,
    product_body,
    recommendations,
)

# --- steps both journeys take ---------------------------------------------------------------


def _open_help_tab(browser: SimulatedBrowser, shop: SimulatedTab) -> SimulatedTab:
    """Help opens in a new tab, on the shipping article, with pageviews off."""
    shop.click("nav_help")
    help_tab = browser.open_tab()
    help_tab.pause(300, 700)
    shipping = f"{HELP}/articles/shipping"
    help_tab.open_page(
        shipping,
        title="Shipping — Northwind Help",
        body=[help_header(), help_article(*SHIPPING_ARTICLE)],
        pageview=False,
    )
    # with pageviews off, posthog-js marks the URL it starts on as well
    help_tab.custom("$url_changed", {"href": shipping})
    return help_tab


def _fill_checkout(tab: SimulatedTab, *, discount: str | None) -> None:
    tab.click("email")
    tab.type_text("email", "jane.doe@example.com", shown="<email>")
    tab.pause(400, 900)
    tab.click("full_name")
    tab.type_text("full_name", "Jane Doe")
    tab.pause(400, 900)
    tab.click("phone")
    tab.type_text("phone", "+1 503 555 0142", shown="<phone>")
    tab.pause(500, 1_000)
    tab.pick("shipping_express", group="shipping")
    tab.pause(500, 1_000)
    tab.tick("save_details")
    tab.pause(500, 1_000)
    tab.click("new_password")
    tab.type_text("new_password", "correct-horse-42", masked=True)
    if discount is not None:
        tab.pause(600, 1_200)
        tab.click("discount")
        tab.type_text("discount", discount)


# --- the ground-truth journey ---------------------------------------------------------------


def play_ground_truth_journey(browser: SimulatedBrowser) -> None:
    """One session with every signal placed deliberately and flagged in the ground truth.

    Clean actions show a reaction within a second; a signal's neighbourhood is kept free
    of anything that could be read as another signal (no page events near a dead click,
    no click near a background error, no page revisited within 30 s except the thrash).
    """
    shop = browser.open_tab()
    product = PRODUCTS_BY_SLUG["trail-runner-2"]
    _home_with_slow_recommendations(shop, product)
    _add_to_cart_then_widget_error(shop, product)
    _rage_then_dead_clicks(shop)
    _wishlist_while_offline(shop)
    _thrash_between_collections(shop)
    _search_help_in_second_tab(browser, shop)
    _checkout_with_slow_discount_and_declined_card(shop, product)
    _contact_form_left_for_the_sale(shop)
    _coffee_break(shop)
    _blocked_account_pages(shop)
    _long_absence_then_tracking(shop)


def _home_with_slow_recommendations(shop: SimulatedTab, product: Product) -> None:
    """A slow recommendations request, nothing clicked while it is in flight; then the
    visitor opens `product`."""
    shop.open_page(f"{SHOP}/", title="Northwind Outfitters", body=home_body(0, CATALOG[:8]))
    recs = shop.send("/api/recommendations", method="GET")
    shop.pause(900, 1500)
    shop.move_to((700, 420))
    shop.pause(500, 900)
    shop.scroll_to(260)
    shop.now = recs.started_ms + shop.rng.randint(3_400, 4_400)
    shop.receive(recs, status=200)
    shop.mutate(adds=shop.dom.add(recommendations(CATALOG[8:11]), parent="recs"))
    shop.pause(1_500, 2_500)
    shop.click(f"card_{product.slug}")


def _add_to_cart_then_widget_error(shop: SimulatedTab, product: Product) -> None:
    shop.navigate(
        f"{SHOP}/products/{product.slug}", title=product.name, body=product_body(0, product)
    )
    shop.pause(2_000, 3_000)
    shop.click("size")
    shop.choose("size", "10")
    shop.pause(800, 1_500)
    shop.click("add_to_cart")
    shop.fetch("/api/cart", method="POST", status=200, low_ms=180, high_ms=420)
    shop.mutate(
        texts=[shop.dom.text_change("cart_count", "1")],
        adds=shop.dom.add(added_to_cart_toast(), parent="toasts"),
    )
    # long after the last click, so no action is blamed for it
    shop.pause(3_500, 4_500)
    log_reviews_widget_error(shop)
    shop.pause(1_500, 2_500)


def _rage_then_dead_clicks(shop: SimulatedTab) -> None:
    # rage: four clicks on a button that does nothing, and nothing changes after them
    shop.click("size_guide").flag("rage", "dead")
    for _ in range(3):
        shop.pause(110, 200)
        shop.click_again("size_guide").flag("rage", "dead")
    shop.pause(3_000, 3_800)

    # dead: a link whose handler was never shipped
    shop.click("all_reviews").flag("dead")
    shop.pause(3_000, 3_800)


def _wishlist_while_offline(shop: SimulatedTab) -> None:
    """The wishlist request never gets a response: the browser went offline."""
    offline_at = shop.go_offline()
    shop.pause(1_500, 2_500)
    shop.click("add_to_wishlist").flag("error_after")
    shop.pause(5, 15)
    shop.mutate(attributes=[shop.dom.attribute_change("add_to_wishlist", BUSY)])
    wishlist = shop.send("/api/wishlist", method="POST")
    shop.pause(15, 60)
    shop.receive(wishlist, status=0)
    shop.pause(2, 10)
    shop.console_error(
        "TypeError: Failed to fetch",
        ["at addToWishlist (https://shop.example.com/assets/product.js:120:9)"],
    )
    shop.pause(5, 20)
    shop.mutate(attributes=[shop.dom.attribute_change("add_to_wishlist", NOT_BUSY)])
    shop.pause(4_000, 6_000)
    shop.go_online(offline_at)
    shop.pause(1_500, 2_500)


def _thrash_between_collections(shop: SimulatedTab) -> None:
    """Shoes, Bags, Shoes, Bags within half a minute; the last navigation is the one that
    makes it back-and-forth (going back once is ordinary browsing)."""
    for visit, slug in enumerate(("shoes", "bags", "shoes", "bags")):
        shop.click(f"nav_{slug}")
        title = COLLECTIONS[slug][0]
        navigation = shop.navigate(
            f"{SHOP}/collections/{slug}", title=title, body=collection_body(1, slug)
        )
        if visit == 3:
            navigation.flag("thrash")
        shop.pause(2_000, 3_000)


def _search_help_in_second_tab(browser: SimulatedBrowser, shop: SimulatedTab) -> None:
    """The visitor searches the help center in a new tab, reads an article, comes back to
    the shop and widens the window."""
    help_tab = _open_help_tab(browser, shop)
    help_tab.pause(2_000, 3_000)
    help_tab.click("help_search")
    help_tab.type_text("help_search", "return policy")
    help_tab.pause(400, 900)  # Enter: the app routes to the results without a page load
    help_tab.mutate(
        removes=[help_tab.dom.remove("help_main")],
        adds=help_tab.dom.add(help_results(), parent="body"),
    )
    help_tab.pause(1, 5)
    help_tab.change_url(f"{HELP}/search?q=return+policy", tag="$url_changed")
    help_tab.pause(2_000, 3_500)
    help_tab.click("result_returns")
    help_tab.pause(100, 300)
    help_tab.mutate(
        removes=[help_tab.dom.remove("help_main")],
        adds=help_tab.dom.add(help_article(*RETURNS_ARTICLE), parent="body"),
    )
    help_tab.pause(1, 5)
    help_tab.change_url(f"{HELP}/articles/returns-and-refunds", tag="$url_changed")
    help_tab.pause(3_500, 5_000)
    chat = help_tab.send("/api/chat/status", method="GET")
    help_tab.pause(80, 200)
    help_tab.receive(chat, status=404, legacy=True)
    help_tab.pause(3_000, 5_000)
    browser.switch_to(shop)
    shop.pause(600, 1_200)
    shop.resize(1600, 1000)
    shop.pause(800, 1_500)


def _checkout_with_slow_discount_and_declined_card(shop: SimulatedTab, product: Product) -> None:
    """A slow discount, then the payment fails and the page says so."""
    shop.click("cart_link")
    shop.navigate(f"{SHOP}/cart", title="Your cart", body=cart_body(1, product))
    shop.pause(2_000, 3_000)
    shop.click("checkout")
    shop.navigate(f"{SHOP}/checkout", title="Checkout", body=checkout_body(1, product.price))
    shop.pause(1_500, 2_500)
    _fill_checkout(shop, discount="SPRING10")
    shop.pause(1_000, 2_000)
    shop.click("apply_discount").flag("slow")
    discount = shop.send("/api/discounts", method="POST")
    shop.pause(1_300, 1_900)
    shop.receive(discount, status=200)
    shop.pause(10, 40)
    applied = tag("p", {"class": "discount"}, "Discount applied: -10%")
    shop.mutate(
        texts=[shop.dom.text_change("total", "Total: $116.10")],
        adds=shop.dom.add(applied, parent="alerts"),
    )
    shop.pause(2_000, 3_000)
    shop.click("pay_now").flag("error_after", "error_shown")
    shop.pause(5, 20)
    shop.mutate(attributes=[shop.dom.attribute_change("pay_now", BUSY)])
    shop.fetch("/api/payments", method="POST", status=402, low_ms=350, high_ms=600)
    shop.pause(2, 10)
    log_card_declined(shop)
    shop.pause(10, 40)
    shop.mutate(
        attributes=[shop.dom.attribute_change("pay_now", NOT_BUSY)],
        adds=shop.dom.add(card_declined_banner(), parent="alerts"),
    )
    shop.pause(4_000, 6_000)


def _contact_form_left_for_the_sale(shop: SimulatedTab) -> None:
    """The contact form: typed into, never sent, left for the sale."""
    shop.click("nav_contact")
    shop.navigate(f"{SHOP}/contact", title="Contact us", body=contact_body(1))
    shop.pause(1_500, 2_500)
    fields = (
        ("contact_name", "Jane Doe"),
        ("company", "Acme Outfitters"),
        ("message", "Do you ship to Canada?"),
    )
    for index, (key, text) in enumerate(fields):
        shop.click(key)
        typed = shop.type_text(key, text)
        if index == len(fields) - 1:
            typed.flag("abandoned")  # one flag per form: on the input the user left it at
        shop.pause(500, 1_200)
    shop.pause(1_000, 2_000)
    shop.click("nav_sale")
    shop.navigate(f"{SHOP}/collections/sale", title="Sale", body=collection_body(1, "sale"))
    shop.pause(1_500, 2_500)
    shop.scroll_to(300)


def _coffee_break(shop: SimulatedTab) -> None:
    # shorter than posthog-js's five minutes, so it writes no idle marker
    shop.idle(40_000, 55_000)
    shop.nudge_mouse()
    shop.pause(300, 800)
    shop.scroll_to(0)
    shop.pause(1_000, 2_000)


def _blocked_account_pages(shop: SimulatedTab) -> None:
    """The account pages are blocked from recording: the recording pauses."""
    shop.click("nav_account")
    shop.pause(350, 900)
    paused_at = shop.pause_recording()
    shop.pause(35_000, 50_000)
    shop.resume_recording(paused_at)
    shop.pause(1, 5)
    shop.open_page(f"{SHOP}/orders", title="Your orders", body=orders_body(1))
    shop.pause(2_000, 3_000)
    shop.nudge_mouse()


def _long_absence_then_tracking(shop: SimulatedTab) -> None:
    """posthog-js marks the session idle, then takes a fresh snapshot; the visitor comes
    back and tracks the package."""
    shop.idle(330_000, 420_000, ticker="promo")
    shop.pause(1_500, 2_500)
    shop.click("track_package")
    shop.pause(60, 200)
    panel = tag("p", {}, "Out for delivery — arriving today by 8 pm")
    shop.mutate(adds=shop.dom.add(panel, parent="tracking"))
    shop.pause(2_500, 4_000)
    shop.nudge_mouse()


# --- ordinary traffic, for large recordings -------------------------------------------------


def play_shop_traffic(browser: SimulatedBrowser, enough: Callable[[], bool]) -> None:
    """Visit after visit of ordinary shopping until `enough()` says stop.

    Each visit is a fresh page load, so node ids start again at 1 as in a real browser;
    mutations within a page keep allocating new ids. Outcomes vary (a failed payment, an
    abandoned form, a help-center tab) so the compiler sees every path, not one loop.
    """
    rng = browser.rng
    shop = browser.open_tab()
    help_tab: SimulatedTab | None = None
    cart = 0
    visit = 0
    while not enough():
        visit += 1
        product = _browse_to_a_product(shop, cart)
        cart += 1
        _pick_size_and_add_to_cart(shop, cart)
        if rng.random() < 0.2:
            log_reviews_widget_error(shop)
            shop.pause(1_000, 2_000)
        if rng.random() < 0.25:
            help_tab = _help_detour(browser, shop, help_tab)
        if _check_out(shop, cart, product, order=f"NW-{21000 + visit}"):
            cart = 0
        shop.pause(2_000, 8_000)


def _browse_to_a_product(shop: SimulatedTab, cart: int) -> Product:
    """A fresh home page, a scroll, and one of the first products on it opened."""
    rng = shop.rng
    products = rng.sample(CATALOG, 8)
    shop.open_page(f"{SHOP}/", title="Northwind Outfitters", body=home_body(cart, products))
    shop.pause(1_500, 4_000)
    shop.scroll_to(rng.choice((200, 260, 300)))
    shop.pause(1_000, 3_000)
    product = rng.choice(products[:4])
    shop.click(f"card_{product.slug}")
    shop.navigate(
        f"{SHOP}/products/{product.slug}", title=product.name, body=product_body(cart, product)
    )
    shop.pause(2_000, 5_000)
    return product


def _pick_size_and_add_to_cart(shop: SimulatedTab, cart: int) -> None:
    """`cart` is the count after this product is added; now and then the visitor tries
    the size guide button, which does nothing, several times first."""
    rng = shop.rng
    shop.click("size")
    shop.choose("size", rng.choice(("8", "9", "10", "11")))
    shop.pause(800, 2_000)
    if rng.random() < 0.15:
        shop.click("size_guide")
        for _ in range(rng.randint(2, 4)):
            shop.pause(110, 220)
            shop.click_again("size_guide")
        shop.pause(2_500, 4_000)
    shop.click("add_to_cart")
    shop.fetch("/api/cart", method="POST", status=200, low_ms=150, high_ms=500)
    if shop.dom.has("toast"):
        shop.mutate(removes=[shop.dom.remove("toast")])
    shop.mutate(
        texts=[shop.dom.text_change("cart_count", str(cart))],
        adds=shop.dom.add(added_to_cart_toast(), parent="toasts"),
    )
    shop.pause(1_500, 3_000)


def _check_out(shop: SimulatedTab, cart: int, product: Product, *, order: str) -> bool:
    """Cart, checkout, pay; True when the payment went through and `order` was placed.

    A declined card leaves the visitor writing to support and giving up on the form."""
    rng = shop.rng
    shop.click("cart_link")
    shop.navigate(f"{SHOP}/cart", title="Your cart", body=cart_body(cart, product))
    shop.pause(1_500, 3_000)
    shop.click("checkout")
    shop.navigate(f"{SHOP}/checkout", title="Checkout", body=checkout_body(cart, product.price))
    shop.pause(1_500, 3_000)
    _fill_checkout(shop, discount=None)
    shop.pause(1_000, 2_000)
    shop.click("pay_now")
    shop.pause(5, 20)
    shop.mutate(attributes=[shop.dom.attribute_change("pay_now", BUSY)])
    if rng.random() < 0.3:
        shop.fetch("/api/payments", method="POST", status=402, low_ms=300, high_ms=700)
        shop.pause(2, 10)
        log_card_declined(shop)
        shop.pause(10, 40)
        shop.mutate(adds=shop.dom.add(card_declined_banner(), parent="alerts"))
        shop.pause(2_000, 4_000)
        _abandon_contact_form(shop, cart)
        return False
    shop.fetch("/api/payments", method="POST", status=201, low_ms=400, high_ms=900)
    shop.navigate(f"{SHOP}/orders/confirmed", title="Thank you", body=confirmation_body(0, order))
    shop.pause(2_000, 5_000)
    return True


def _help_detour(
    browser: SimulatedBrowser, shop: SimulatedTab, help_tab: SimulatedTab | None
) -> SimulatedTab:
    """Open the help center in a new tab the first time, switch to it afterwards."""
    rng = browser.rng
    if help_tab is None:
        help_tab = _open_help_tab(browser, shop)
    else:
        browser.switch_to(help_tab)
    help_tab.pause(1_500, 3_000)
    help_tab.click("help_search")
    help_tab.type_text("help_search", rng.choice(("return policy", "exchange size", "shipping")))
    help_tab.pause(400, 900)
    help_tab.mutate(
        removes=[help_tab.dom.remove("help_main")],
        adds=help_tab.dom.add(help_results(), parent="body"),
    )
    help_tab.change_url(f"{HELP}/search?q=results", tag="$url_changed")
    help_tab.pause(1_500, 3_000)
    help_tab.click("result_returns")
    help_tab.pause(100, 300)
    help_tab.mutate(
        removes=[help_tab.dom.remove("help_main")],
        adds=help_tab.dom.add(help_article(*RETURNS_ARTICLE), parent="body"),
    )
    help_tab.change_url(f"{HELP}/articles/returns-and-refunds", tag="$url_changed")
    help_tab.pause(3_000, 6_000)
    if rng.random() < 0.3:
        chat = help_tab.send("/api/chat/status", method="GET")
        help_tab.pause(80, 200)
        help_tab.receive(chat, status=404, legacy=True)
        help_tab.pause(500, 1_500)
    browser.switch_to(shop)
    shop.pause(600, 1_500)
    return help_tab


def _abandon_contact_form(shop: SimulatedTab, cart: int) -> None:
    shop.click("nav_contact")
    shop.navigate(f"{SHOP}/contact", title="Contact us", body=contact_body(cart))
    shop.pause(1_500, 2_500)
    shop.click("contact_name")
    shop.type_text("contact_name", "Jane Doe")
    shop.pause(500, 1_200)
    shop.click("message")
    shop.type_text("message", "My card was declined twice, can you help?")
    shop.pause(1_000, 2_500)
    shop.click("nav_sale")
    shop.navigate(f"{SHOP}/collections/sale", title="Sale", body=collection_body(cart, "sale"))
    shop.pause(2_000, 4_000)
