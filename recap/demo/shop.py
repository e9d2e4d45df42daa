"""A made-up shop and its help center, as the pages and page elements the journeys visit.

Product cards, forms and buttons carry keys and screen positions so a script can click
them by name; `recap.demo.journeys` and `recap.demo.labelled` play visits through them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from recap.demo.generator import ElementSpec, SimulatedTab, tag

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
PRODUCTS_BY_SLUG: Final = {product.slug: product for product in CATALOG}

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
            _grid([PRODUCTS_BY_SLUG[s] for s in slugs], 300),
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


# --- what happens on the shop's pages -------------------------------------------------------

BUSY: Final = {"aria-busy": "true", "disabled": ""}
"""A button's attributes while its request is in flight."""
NOT_BUSY: Final = dict.fromkeys(BUSY)
"""The same attributes taken off again (None removes an attribute)."""


def added_to_cart_toast() -> ElementSpec:
    return tag("div", {"class": "toast"}, tag("p", {}, "Added to cart"), key="toast")


def card_declined_banner() -> ElementSpec:
    return tag(
        "div",
        {"class": "banner banner-error", "role": "alert"},
        "Payment failed. Your card was declined.",
    )


def log_reviews_widget_error(tab: SimulatedTab) -> None:
    """The reviews widget fails on its own: nothing the visitor did, nothing they see."""
    tab.console_error(
        "TypeError: Cannot read properties of null (reading 'observe')",
        ["at initReviewsWidget (https://shop.example.com/assets/reviews.js:88:21)"],
    )


def log_card_declined(tab: SimulatedTab) -> None:
    tab.console_error(
        "PaymentError: card_declined",
        ["at submitPayment (https://shop.example.com/assets/checkout.js:57:15)"],
    )
