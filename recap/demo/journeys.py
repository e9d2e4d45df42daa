"""Journeys through a made-up shop and its help center, with the ground truth written down.

`play_ground_truth_journey` is one deliberate session: two tabs, every frustration signal
the compiler detects placed once where it cannot be mistaken for another, and clean
actions around them. `play_shop_traffic` repeats ordinary visits for large recordings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from recap.demo.generator import (
    ElementSpec,
    SimulatedBrowser,
    SimulatedTab,
    tag,
)

SHOP: Final = "https://shop.example.com"
HELP: Final = "https://help.example.com"


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    price: str


CATALOG: Final = (
    Product("trail-runner-2", "Trail Runner 2", "$129.00"),
    Product("canvas-tote", "Canvas Tote", "$45.00"),
    Product("merino-beanie", "Merino Beanie", "$32.00"),
    Product("ridge-hiker", "Ridge Hiker Boot", "$189.00"),
    Product("city-sneaker", "City Sneaker", "$98.00"),
    Product("daypack-22", "Daypack 22L", "$79.00"),
    Product("rain-shell", "Rain Shell Jacket", "$149.00"),
    Product("wool-socks", "Wool Hiking Socks", "$18.00"),
    Product("camp-mug", "Enamel Camp Mug", "$16.00"),
    Product("duffel-40", "Weekender Duffel 40L", "$119.00"),
    Product("sun-hat", "Wide Brim Sun Hat", "$38.00"),
    Product("trail-runner-w", "Trail Runner 2 Women", "$129.00"),
)
COLLECTIONS: Final = {
    "shoes": ("Shoes", ("trail-runner-2", "ridge-hiker", "city-sneaker", "trail-runner-w")),
    "bags": ("Bags", ("canvas-tote", "daypack-22", "duffel-40")),
    "sale": ("Sale", ("merino-beanie", "wool-socks", "camp-mug", "sun-hat", "rain-shell")),
}
_BY_SLUG: Final = {product.slug: product for product in CATALOG}

# --- the shop's pages -----------------------------------------------------------------------


def _link(text: str, href: str, at: tuple[int, int], *, key: str, **attrs: str) -> ElementSpec:
    """A link in the sticky header: it stays put while the page scrolls."""
    return tag("a", {"href": href, **attrs}, text, key=key, at=at, fixed=True)


def shop_header(cart_count: int) -> ElementSpec:
    return tag(
        "header",
        {"class": "site-header"},
        _link("Northwind Outfitters", "/", (150, 32), key="nav_home", **{"class": "logo"}),
        tag(
            "nav",
            {"aria-label": "Main"},
            _link("Shoes", "/collections/shoes", (520, 32), key="nav_shoes"),
            _link("Bags", "/collections/bags", (600, 32), key="nav_bags"),
            _link("Sale", "/collections/sale", (680, 32), key="nav_sale"),
            _link("Contact", "/contact", (770, 32), key="nav_contact"),
            _link(
                "Help",
                f"{HELP}/articles/shipping",
                (860, 32),
                key="nav_help",
                target="_blank",
                rel="noopener",
            ),
        ),
        _link("Account", "/account/billing", (1200, 32), key="nav_account"),
        tag(
            "a",
            {"href": "/cart", "class": "cart-link", "aria-label": "Cart", "data-testid": "cart"},
            "Cart (",
            tag("span", {"class": "cart-count"}, str(cart_count), key="cart_count"),
            ")",
            key="cart_link",
            at=(1330, 32),
            fixed=True,
        ),
    )


def shop_footer() -> ElementSpec:
    columns = (
        ("Shop", ("New arrivals", "Best sellers", "Gift cards", "Outlet")),
        ("Help", ("Shipping", "Returns", "Size charts", "Warranty")),
        ("Company", ("About us", "Stores", "Careers", "Press")),
    )
    return tag(
        "footer",
        {"class": "site-footer"},
        *(
            tag(
                "section",
                {"class": "footer-column"},
                tag("h3", {}, title),
                tag(
                    "ul",
                    {},
                    *(
                        tag("li", {}, tag("a", {"href": f"/pages/{_slug(text)}"}, text))
                        for text in links
                    ),
                ),
            )
            for title, links in columns
        ),
        tag("p", {"class": "legal"}, "© 2025 Northwind Outfitters. All rights reserved."),
    )


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


def _card(product: Product, at: tuple[int, int]) -> ElementSpec:
    # the key sits on the heading: a click on a card lands on whatever is under the pointer
    return tag(
        "a",
        {"href": f"/products/{product.slug}", "class": "product-card"},
        tag("img", {"src": f"/images/{product.slug}.jpg", "alt": product.name, "loading": "lazy"}),
        tag("h2", {}, product.name, key=f"card_{product.slug}", at=at),
        tag("p", {"class": "price"}, product.price),
    )


def _grid(products: Sequence[Product], top: int) -> ElementSpec:
    cards = [
        _card(product, (300 + (i % 4) * 280, top + (i // 4) * 330))
        for i, product in enumerate(products)
    ]
    return tag("section", {"class": "product-grid"}, *cards)


def home_body(cart_count: int, products: Sequence[Product]) -> list[ElementSpec | str]:
    return [
        shop_header(cart_count),
        tag(
            "main",
            {},
            tag(
                "section",
                {"class": "hero"},
                tag("h1", {}, "New season trail gear"),
                tag("p", {}, "Light, tough and made to be repaired."),
            ),
            _grid(products, 520),
            tag("section", {"class": "recommendations", "aria-live": "polite"}, key="recs"),
        ),
        shop_footer(),
    ]


def recommendations(products: Sequence[Product]) -> ElementSpec:
    return tag(
        "div",
        {"class": "recs-list"},
        tag("h2", {}, "Recommended for you"),
        *(
            tag("a", {"href": f"/products/{p.slug}", "class": "rec"}, f"{p.name} {p.price}")
            for p in products
        ),
    )


def collection_body(cart_count: int, slug: str) -> list[ElementSpec | str]:
    title, slugs = COLLECTIONS[slug]
    return [
        shop_header(cart_count),
        tag(
            "main",
            {},
            tag("h1", {}, title),
            tag("p", {"class": "count"}, f"{len(slugs)} products"),
            _grid([_BY_SLUG[s] for s in slugs], 300),
        ),
        shop_footer(),
    ]


def product_body(cart_count: int, product: Product) -> list[ElementSpec | str]:
    return [
        shop_header(cart_count),
        tag(
            "main",
            {"class": "product"},
            tag("img", {"src": f"/images/{product.slug}-large.jpg", "alt": product.name}),
            tag("h1", {}, product.name),
            tag("p", {"class": "price"}, product.price),
            tag("p", {}, "Built for long days on wet trails and city streets alike."),
            tag("label", {"for": "size"}, "Size"),
            tag(
                "select",
                {"id": "size", "name": "size"},
                *(tag("option", {"value": size}, f"US {size}") for size in ("8", "9", "10", "11")),
                key="size",
                at=(1040, 470),
            ),
            tag(
                "button",
                {"type": "button", "class": "btn btn-primary", "data-testid": "add-to-cart"},
                "Add to cart",
                key="add_to_cart",
                at=(1040, 560),
            ),
            tag(
                "button",
                {"type": "button", "class": "btn-link", "data-testid": "size-guide"},
                "Size guide",
                key="size_guide",
                at=(1040, 620),
            ),
            tag(
                "button",
                {"type": "button", "class": "btn btn-secondary", "data-testid": "add-to-wishlist"},
                "Add to wishlist",
                key="add_to_wishlist",
                at=(1040, 680),
            ),
            tag(
                "section",
                {"class": "reviews"},
                tag("h2", {}, "Reviews (24)"),
                tag("p", {}, "“Comfortable from the first mile.” — Priya"),
                tag(
                    "a",
                    {"href": "javascript:void(0)", "data-testid": "reviews-link"},
                    "See all reviews",
                    key="all_reviews",
                    at=(400, 760),
                ),
            ),
            tag("div", {"class": "toasts", "role": "status"}, key="toasts"),
        ),
        shop_footer(),
    ]


def cart_body(cart_count: int, product: Product) -> list[ElementSpec | str]:
    return [
        shop_header(cart_count),
        tag(
            "main",
            {},
            tag("h1", {}, "Your cart"),
            tag("ul", {}, tag("li", {}, f"{product.name} — US 10 — Qty 1 — {product.price}")),
            tag("p", {"class": "subtotal"}, f"Subtotal: {product.price}"),
            tag(
                "button",
                {"type": "button", "class": "btn btn-primary", "data-testid": "checkout"},
                "Checkout",
                key="checkout",
                at=(1100, 520),
            ),
        ),
        shop_footer(),
    ]


def _field(
    label: str, name: str, at: tuple[int, int], *, area: bool = False, **attrs: str
) -> list[ElementSpec | str]:
    """A labelled input whose `key` is its name."""
    return [
        tag("label", {"for": name}, label),
        tag("textarea" if area else "input", {"id": name, "name": name, **attrs}, key=name, at=at),
    ]


def _choice(label: str, name: str, value: str, at: tuple[int, int], kind: str) -> ElementSpec:
    key = f"{name}_{value}"
    return tag(
        "div",
        {"class": kind},
        tag("input", {"type": kind, "id": key, "name": name, "value": value}, key=key, at=at),
        tag("label", {"for": key}, label),
    )


def checkout_body(cart_count: int, total: str) -> list[ElementSpec | str]:
    return [
        shop_header(cart_count),
        tag(
            "main",
            {"class": "checkout"},
            tag("h1", {}, "Checkout"),
            tag("div", {"class": "alerts"}, key="alerts"),
            tag(
                "form",
                {"id": "checkout-form", "method": "post", "novalidate": ""},
                *_field("Email", "email", (620, 220), type="email", autocomplete="email"),
                *_field("Full name", "full_name", (620, 290), type="text", autocomplete="name"),
                *_field("Phone", "phone", (620, 360), type="tel", autocomplete="tel"),
                tag(
                    "fieldset",
                    {},
                    tag("legend", {}, "Shipping"),
                    _choice("Standard (5-7 days)", "shipping", "standard", (520, 430), "radio"),
                    _choice("Express (1-2 days)", "shipping", "express", (760, 430), "radio"),
                ),
                _choice("Save my details for next time", "save", "details", (520, 490), "checkbox"),
                *_field(
                    "Create a password (optional)",
                    "new_password",
                    (620, 550),
                    type="password",
                    autocomplete="new-password",
                ),
                *_field("Discount code", "discount", (560, 620), type="text"),
                tag(
                    "button",
                    {"type": "button", "class": "btn", "data-testid": "apply-discount"},
                    "Apply",
                    key="apply_discount",
                    at=(780, 620),
                ),
                tag("p", {"class": "total"}, f"Total: {total}", key="total"),
                tag(
                    "button",
                    {"type": "submit", "class": "btn btn-primary", "data-testid": "pay-now"},
                    "Pay now",
                    key="pay_now",
                    at=(620, 700),
                ),
            ),
        ),
        shop_footer(),
    ]


def confirmation_body(cart_count: int, order: str) -> list[ElementSpec | str]:
    return [
        shop_header(cart_count),
        tag(
            "main",
            {},
            tag("h1", {}, "Thank you for your order!"),
            tag("p", {}, f"Order {order} is confirmed. We sent the receipt to your inbox."),
            tag("a", {"href": "/orders"}, "View your orders", key="view_orders", at=(720, 420)),
        ),
        shop_footer(),
    ]


def contact_body(cart_count: int) -> list[ElementSpec | str]:
    return [
        shop_header(cart_count),
        tag(
            "main",
            {},
            tag("h1", {}, "Contact us"),
            tag(
                "form",
                {"id": "contact-form", "method": "post"},
                *_field("Your name", "contact_name", (620, 260), type="text"),
                *_field("Company", "company", (620, 340), type="text"),
                *_field("Message", "message", (620, 460), area=True, rows="5"),
                tag(
                    "button",
                    {"type": "submit", "class": "btn btn-primary", "data-testid": "send-message"},
                    "Send message",
                    key="send_message",
                    at=(620, 600),
                ),
            ),
        ),
        shop_footer(),
    ]


def orders_body(cart_count: int) -> list[ElementSpec | str]:
    return [
        shop_header(cart_count),
        tag(
            "main",
            {},
            tag("h1", {}, "Your orders"),
            tag(
                "div",
                {"class": "promo", "role": "region", "aria-label": "Offers"},
                tag("p", {}, "Free shipping on orders over $75"),
                key="promo",
            ),
            tag(
                "ul",
                {"class": "orders"},
                tag("li", {}, "Order NW-20931 — Trail Runner 2 — Shipped"),
                tag("li", {}, "Order NW-20455 — Canvas Tote — Delivered"),
            ),
            tag(
                "button",
                {"type": "button", "class": "btn", "data-testid": "track-package"},
                "Track package",
                key="track_package",
                at=(1000, 400),
            ),
            tag("div", {"class": "tracking"}, key="tracking"),
        ),
        shop_footer(),
    ]


# --- the help center ------------------------------------------------------------------------


def help_header() -> ElementSpec:
    return tag(
        "header",
        {"class": "help-header"},
        tag("a", {"href": "/"}, "Northwind Help Center"),
        tag(
            "form",
            {"role": "search", "action": "/search"},
            tag("label", {"for": "help_search", "class": "sr-only"}, "Search help articles"),
            tag(
                "input",
                {"id": "help_search", "name": "q", "type": "search"},
                key="help_search",
                at=(720, 40),
                fixed=True,
            ),
        ),
    )


def help_article(title: str, paragraphs: Sequence[str]) -> ElementSpec:
    return tag(
        "article",
        {"class": "help-article"},
        tag("h1", {}, title),
        *(tag("p", {}, text) for text in paragraphs),
        key="help_main",
    )


SHIPPING_ARTICLE: Final = (
    "Shipping times and costs",
    (
        "Standard shipping takes 5-7 business days and is free over $75.",
        "Express shipping takes 1-2 business days.",
    ),
)
RETURNS_ARTICLE: Final = (
    "Returns and refunds",
    ("You can return unworn items within 30 days.", "Refunds reach your card in 5 days."),
)


def help_results() -> ElementSpec:
    return tag(
        "section",
        {"class": "results"},
        tag("h1", {}, "Results for “return policy”"),
        tag(
            "a",
            {"href": "/articles/returns-and-refunds"},
            "Returns and refunds",
            key="result_returns",
            at=(480, 300),
        ),
        tag("a", {"href": "/articles/exchanges"}, "Exchanges", at=(480, 360)),
        key="help_main",
    )


# --- the ground-truth journey ---------------------------------------------------------------


def play_ground_truth_journey(browser: SimulatedBrowser) -> None:
    """One session with every signal placed deliberately and flagged in the ground truth.

    Clean actions show a reaction within a second; a signal's neighbourhood is kept free
    of anything that could be read as another signal (no page events near a dead click,
    no click near a background error, no page revisited within 30 s except the thrash).
    """
    rng = browser.rng
    shop = browser.open_tab()
    product = _BY_SLUG["trail-runner-2"]

    # home: a slow recommendations request, nothing clicked while it is in flight
    shop.open_page(f"{SHOP}/", title="Northwind Outfitters", body=home_body(0, CATALOG[:8]))
    recs = shop.send("/api/recommendations", method="GET")
    shop.pause(900, 1500)
    shop.move_to((700, 420))
    shop.pause(500, 900)
    shop.scroll_to(260)
    shop.now = recs.started_ms + rng.randint(3_400, 4_400)
    shop.receive(recs, status=200)
    shop.mutate(adds=shop.dom.add(recommendations(CATALOG[8:11]), parent="recs"))
    shop.pause(1_500, 2_500)
    shop.click(f"card_{product.slug}")

    # product page
    shop.navigate(
        f"{SHOP}/products/{product.slug}", title=product.name, body=product_body(0, product)
    )
    shop.pause(2_000, 3_000)
    shop.click("size")
    shop.choose("size", "10")
    shop.pause(800, 1_500)
    shop.click("add_to_cart")
    shop.fetch("/api/cart", method="POST", status=200, low_ms=180, high_ms=420)
    toast = tag("div", {"class": "toast"}, tag("p", {}, "Added to cart"), key="toast")
    shop.mutate(
        texts=[shop.dom.text_change("cart_count", "1")],
        adds=shop.dom.add(toast, parent="toasts"),
    )
    # a widget fails on its own, long after the last click
    shop.pause(3_500, 4_500)
    shop.console_error(
        "TypeError: Cannot read properties of null (reading 'observe')",
        ["at initReviewsWidget (https://shop.example.com/assets/reviews.js:88:21)"],
    )
    shop.pause(1_500, 2_500)

    # rage: four clicks on a button that does nothing, and nothing changes after them
    shop.click("size_guide").flag("rage", "dead")
    for _ in range(3):
        shop.pause(110, 200)
        shop.click_again("size_guide").flag("rage", "dead")
    shop.pause(3_000, 3_800)

    # dead: a link whose handler was never shipped
    shop.click("all_reviews").flag("dead")
    shop.pause(3_000, 3_800)

    # offline: the wishlist request never gets a response
    offline_at = shop.go_offline()
    shop.pause(1_500, 2_500)
    shop.click("add_to_wishlist").flag("error_after")
    busy = {"aria-busy": "true", "disabled": ""}
    shop.pause(5, 15)
    shop.mutate(attributes=[shop.dom.attribute_change("add_to_wishlist", busy)])
    wishlist = shop.send("/api/wishlist", method="POST")
    shop.pause(15, 60)
    shop.receive(wishlist, status=0)
    shop.pause(2, 10)
    shop.console_error(
        "TypeError: Failed to fetch",
        ["at addToWishlist (https://shop.example.com/assets/product.js:120:9)"],
    )
    shop.pause(5, 20)
    idle_again = dict.fromkeys(busy)
    shop.mutate(attributes=[shop.dom.attribute_change("add_to_wishlist", idle_again)])
    shop.pause(4_000, 6_000)
    shop.go_online(offline_at)
    shop.pause(1_500, 2_500)

    # thrash: Shoes, Bags, Shoes, Bags within half a minute; the last navigation is the
    # one that makes it back-and-forth (going back once is ordinary browsing)
    for visit, slug in enumerate(("shoes", "bags", "shoes", "bags")):
        shop.click(f"nav_{slug}")
        title = COLLECTIONS[slug][0]
        navigation = shop.navigate(
            f"{SHOP}/collections/{slug}", title=title, body=collection_body(1, slug)
        )
        if visit == 3:
            navigation.flag("thrash")
        shop.pause(2_000, 3_000)

    # help opens in a new tab; the visitor searches it, then comes back
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

    # checkout: a slow discount, then the payment fails and says so
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
    shop.mutate(attributes=[shop.dom.attribute_change("pay_now", busy)])
    shop.fetch("/api/payments", method="POST", status=402, low_ms=350, high_ms=600)
    shop.pause(2, 10)
    shop.console_error(
        "PaymentError: card_declined",
        ["at submitPayment (https://shop.example.com/assets/checkout.js:57:15)"],
    )
    shop.pause(10, 40)
    banner = tag(
        "div",
        {"class": "banner banner-error", "role": "alert"},
        "Payment failed. Your card was declined.",
    )
    shop.mutate(
        attributes=[shop.dom.attribute_change("pay_now", idle_again)],
        adds=shop.dom.add(banner, parent="alerts"),
    )
    shop.pause(4_000, 6_000)

    # the contact form: typed into, never sent, left for the sale
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

    # a coffee break (no posthog-js idle marker: it waits five minutes)
    shop.idle(40_000, 55_000)
    shop.nudge_mouse()
    shop.pause(300, 800)
    shop.scroll_to(0)
    shop.pause(1_000, 2_000)

    # the account pages are blocked from recording: the recording pauses
    shop.click("nav_account")
    shop.pause(350, 900)
    paused_at = shop.pause_recording()
    shop.pause(35_000, 50_000)
    shop.resume_recording(paused_at)
    shop.pause(1, 5)
    shop.open_page(f"{SHOP}/orders", title="Your orders", body=orders_body(1))
    shop.pause(2_000, 3_000)
    shop.nudge_mouse()

    # a long absence: posthog-js marks the session idle, then takes a fresh snapshot
    shop.idle(330_000, 420_000, ticker="promo")
    shop.pause(1_500, 2_500)
    shop.click("track_package")
    shop.pause(60, 200)
    panel = tag("p", {}, "Out for delivery — arriving today by 8 pm")
    shop.mutate(adds=shop.dom.add(panel, parent="tracking"))
    shop.pause(2_500, 4_000)
    shop.nudge_mouse()


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
        cart += 1
        toast = tag("div", {"class": "toast"}, tag("p", {}, "Added to cart"), key="toast")
        if shop.dom.has("toast"):
            shop.mutate(removes=[shop.dom.remove("toast")])
        shop.mutate(
            texts=[shop.dom.text_change("cart_count", str(cart))],
            adds=shop.dom.add(toast, parent="toasts"),
        )
        shop.pause(1_500, 3_000)
        if rng.random() < 0.2:
            shop.console_error(
                "TypeError: Cannot read properties of null (reading 'observe')",
                ["at initReviewsWidget (https://shop.example.com/assets/reviews.js:88:21)"],
            )
            shop.pause(1_000, 2_000)
        if rng.random() < 0.25:
            help_tab = _help_detour(browser, shop, help_tab)
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
        shop.mutate(
            attributes=[shop.dom.attribute_change("pay_now", {"aria-busy": "true", "disabled": ""})]
        )
        if rng.random() < 0.3:
            shop.fetch("/api/payments", method="POST", status=402, low_ms=300, high_ms=700)
            shop.pause(2, 10)
            shop.console_error(
                "PaymentError: card_declined",
                ["at submitPayment (https://shop.example.com/assets/checkout.js:57:15)"],
            )
            banner = tag(
                "div",
                {"class": "banner banner-error", "role": "alert"},
                "Payment failed. Your card was declined.",
            )
            shop.pause(10, 40)
            shop.mutate(adds=shop.dom.add(banner, parent="alerts"))
            shop.pause(2_000, 4_000)
            _abandon_contact_form(shop, cart)
        else:
            shop.fetch("/api/payments", method="POST", status=201, low_ms=400, high_ms=900)
            cart = 0
            shop.navigate(
                f"{SHOP}/orders/confirmed",
                title="Thank you",
                body=confirmation_body(cart, f"NW-{21000 + visit}"),
            )
            shop.pause(2_000, 5_000)
        shop.pause(2_000, 8_000)


def _help_detour(
    browser: SimulatedBrowser, shop: SimulatedTab, help_tab: SimulatedTab | None
) -> SimulatedTab:
    """Open the help center in a new tab the first time, switch to it afterwards."""
    rng = browser.rng
    if help_tab is None:
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
        help_tab.custom("$url_changed", {"href": shipping})
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
