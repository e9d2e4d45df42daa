"""Shop sessions with planted causes of drop-off, for the funnel analysis.

60 sessions through `url:/cart` -> `click:"Checkout"` -> `url:/order/*/confirmation`:
40 complete; 14 stop on the cart page after `POST /api/cart` answers 500 when they update
the quantity; 6 are on a 375 px phone, where the Checkout button sits off-screen, scroll
around and leave. Everything else (browsers, operating systems, a widget's console error,
updating the cart) is spread over both groups, so only the two planted causes separate
them. Recordings go through the demo generator and the real compiler.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from recap.demo.generator import (
    DEFAULT_START_MS,
    ElementSpec,
    SimulatedBrowser,
    SimulatedTab,
    tag,
    uuid7,
)
from recap.demo.recordings import GeneratedSession, person_for
from recap.demo.shop import (
    BUSY,
    CATALOG,
    NOT_BUSY,
    SHOP,
    Product,
    added_to_cart_toast,
    checkout_body,
    collection_body,
    confirmation_body,
    home_body,
    product_body,
    shop_footer,
    shop_header,
)
from recap.funnels import FunnelSession, FunnelStep, SessionMetadata, parse_steps
from recap.sources.files import load_recording_file
from recap.timeline import compile_timeline

Label = Literal["completed", "cart_error", "phone"]
HOUR_MS: Final = 3_600_000
STEPS: Final = ("url:/cart", 'click:"Checkout"', "url:/order/*/confirmation")
CART_ERROR: Final = "Error: could not update cart (500)"
WIDGET_ERROR: Final = "TypeError: recommendations is undefined"
PHONE_WIDTH: Final = 375

# Desktop set-ups, dealt round-robin to completers and to the cart-error sessions alike.
_DESKTOPS: Final = (
    SessionMetadata(device="Desktop", browser="Chrome", os="Mac OS X", viewport_width=1440),
    SessionMetadata(device="Desktop", browser="Chrome", os="Windows", viewport_width=1920),
    SessionMetadata(device="Desktop", browser="Firefox", os="Windows", viewport_width=1366),
    SessionMetadata(device="Desktop", browser="Safari", os="Mac OS X", viewport_width=1512),
    SessionMetadata(device="Desktop", browser="Edge", os="Windows", viewport_width=1536),
    SessionMetadata(device="Desktop", browser="Firefox", os="Linux", viewport_width=1280),
    SessionMetadata(device="Desktop", browser="Chrome", os="Linux", viewport_width=1920),
)
# Tablets complete (the button is on screen there); they share browsers and systems with
# the phones, so only the phones' size and device type set the phones apart.
_TABLETS: Final = (
    SessionMetadata(device="Tablet", browser="Mobile Safari", os="iOS", viewport_width=820),
    SessionMetadata(device="Tablet", browser="Chrome Mobile", os="Android", viewport_width=800),
)
_PHONES: Final = (
    SessionMetadata(device="Mobile", browser="Mobile Safari", os="iOS", viewport_width=375),
    SessionMetadata(device="Mobile", browser="Chrome Mobile", os="Android", viewport_width=375),
)


def funnel_steps() -> list[FunnelStep]:
    return parse_steps(STEPS)


def cart_page(cart_count: int, product: Product) -> list[ElementSpec | str]:
    """The cart with a quantity control, an Update button and Checkout (at x 1100: past the
    right edge of a 375 px phone)."""
    return [
        shop_header(cart_count),
        tag(
            "main",
            {},
            tag("h1", {}, "Your cart"),
            tag("div", {"class": "alerts", "role": "alert"}, key="cart_alerts"),
            tag("li", {}, f"{product.name} — US 10 — {product.price}"),
            tag("label", {"for": "quantity"}, "Quantity"),
            tag(
                "select",
                {"id": "quantity", "name": "quantity"},
                *(tag("option", {"value": q}, q) for q in ("1", "2", "3")),
                key="quantity",
                at=(900, 400),
            ),
            tag(
                "button",
                {"type": "button", "class": "btn", "data-testid": "update-cart"},
                "Update cart",
                key="update_cart",
                at=(900, 460),
            ),
            tag("p", {"class": "subtotal"}, f"Subtotal: {product.price}", key="subtotal"),
            tag(
                "button",
                {"type": "button", "class": "btn btn-primary", "data-testid": "checkout"},
                "Checkout",
                key="checkout",
                at=(1100, 520),
            ),
            tag("section", {"class": "recs"}, key="recs"),
        ),
        shop_footer(),
    ]


def _to_cart(shop: SimulatedTab, product: Product, *, phone: bool) -> None:
    shop.open_page(f"{SHOP}/", title="Northwind Outfitters", body=home_body(0, CATALOG[:8]))
    shop.pause(1_200, 2_500)
    shop.click(f"card_{product.slug}")
    shop.navigate(
        f"{SHOP}/products/{product.slug}", title=product.name, body=product_body(0, product)
    )
    shop.pause(1_500, 2_500)
    shop.click("add_to_cart")
    shop.fetch("/api/cart", method="POST", status=200, low_ms=180, high_ms=420)
    shop.mutate(
        texts=[shop.dom.text_change("cart_count", "1")],
        adds=shop.dom.add(added_to_cart_toast(), parent="toasts"),
    )
    shop.pause(1_200, 2_000)
    if not phone:
        shop.click("cart_link")
    # on a phone the header link sits in a menu the recording does not name: the page
    # simply changes
    shop.navigate(f"{SHOP}/cart", title="Your cart", body=cart_page(1, product))
    shop.pause(1_200, 2_200)


def _widget_error(shop: SimulatedTab) -> None:
    """A recommendations widget fails on its own; nobody sees it (noise in both groups)."""
    shop.console_error(
        WIDGET_ERROR, ["at renderRecs (https://shop.example.com/assets/recs.js:12:9)"]
    )
    shop.pause(800, 1_500)


def _update_quantity(shop: SimulatedTab, product: Product, status: int) -> None:
    shop.click("quantity")
    shop.choose("quantity", "2")
    shop.pause(500, 1_000)
    shop.click("update_cart")
    shop.pause(5, 20)
    shop.mutate(attributes=[shop.dom.attribute_change("update_cart", BUSY)])
    shop.fetch("/api/cart", method="POST", status=status, low_ms=200, high_ms=450)
    if status == 200:
        shop.mutate(
            texts=[shop.dom.text_change("subtotal", f"Subtotal: {product.price} x 2")],
            attributes=[shop.dom.attribute_change("update_cart", NOT_BUSY)],
        )
        shop.pause(1_000, 2_000)
        return
    shop.pause(2, 10)
    shop.console_error(CART_ERROR, ["at updateCart (https://shop.example.com/assets/cart.js:41:7)"])
    shop.pause(10, 40)
    banner = tag("p", {"class": "banner-error"}, "Sorry, we could not update your cart.")
    shop.mutate(
        attributes=[shop.dom.attribute_change("update_cart", NOT_BUSY)],
        adds=shop.dom.add(banner, parent="cart_alerts"),
    )
    shop.pause(3_000, 5_000)


def play_completed(shop: SimulatedTab, product: Product, index: int) -> None:
    _to_cart(shop, product, phone=False)
    if index % 7 == 0:
        _widget_error(shop)
    if index % 2 == 0:
        _update_quantity(shop, product, 200)
    shop.click("checkout")
    shop.navigate(f"{SHOP}/checkout", title="Checkout", body=checkout_body(1, product.price))
    shop.pause(1_000, 1_800)
    shop.click("email")
    shop.type_text("email", "sam.lee@example.com", shown="<email>")
    shop.pause(300, 700)
    shop.click("full_name")
    shop.type_text("full_name", "Sam Lee")
    shop.pause(300, 700)
    shop.pick("shipping_standard", group="shipping")
    shop.pause(600, 1_200)
    shop.click("pay_now")
    shop.pause(5, 20)
    shop.mutate(attributes=[shop.dom.attribute_change("pay_now", BUSY)])
    shop.fetch("/api/payments", method="POST", status=201, low_ms=350, high_ms=700)
    order = 21_000 + index
    shop.navigate(
        f"{SHOP}/order/{order}/confirmation",
        title="Thank you",
        body=confirmation_body(0, f"NW-{order}"),
    )
    shop.pause(2_000, 3_500)
    shop.nudge_mouse()


def play_cart_error(shop: SimulatedTab, product: Product, index: int) -> None:
    _to_cart(shop, product, phone=False)
    if index % 7 == 0:
        _widget_error(shop)
    _update_quantity(shop, product, 500)
    if index % 2 == 0:
        shop.click("nav_shoes")
        shop.navigate(f"{SHOP}/collections/shoes", title="Shoes", body=collection_body(0, "shoes"))
        shop.pause(2_000, 4_000)
    shop.nudge_mouse()


def play_phone(shop: SimulatedTab, product: Product, index: int) -> None:
    shop.width, shop.height = PHONE_WIDTH, 812
    shop.mouse = (180, 300)
    _to_cart(shop, product, phone=True)
    if index % 7 == 0:
        _widget_error(shop)
    # looking for a way on: down the page, and back up; the Checkout button never shows
    shop.scroll_to(500)
    shop.pause(2_500, 4_000)
    shop.scroll_to(1_100)
    shop.pause(2_500, 4_000)
    shop.scroll_to(0)
    shop.pause(1_500, 3_000)
    if index % 2 == 0:
        shop.click("nav_home")
        shop.navigate(f"{SHOP}/", title="Northwind Outfitters", body=home_body(1, CATALOG[:8]))
        shop.pause(1_500, 3_000)


_PLAYS: Final = {"completed": play_completed, "cart_error": play_cart_error, "phone": play_phone}


@dataclass(frozen=True)
class FunnelCase:
    label: Label
    session: FunnelSession

    @property
    def session_id(self) -> str:
        return self.session.session_id


def funnel_labels(completed: int = 40, cart_error: int = 14, phone: int = 6) -> list[Label]:
    """The labels in a fixed shuffled order."""
    counts: dict[Label, int] = {"completed": completed, "cart_error": cart_error, "phone": phone}
    labels = [label for label, count in counts.items() for _ in range(count)]
    random.Random(20).shuffle(labels)
    return labels


def _metadata(label: Label, index: int) -> SessionMetadata:
    if label == "phone":
        return _PHONES[index % len(_PHONES)]
    if label == "completed" and index % 10 == 3:
        return _TABLETS[(index // 10) % len(_TABLETS)]
    return _DESKTOPS[index % len(_DESKTOPS)]


def generate_case(label: Label, seed: int, nth: int, start_ms: int) -> GeneratedSession:
    """Session `seed` of the run, the `nth` of its label (which decides its variations)."""
    rng = random.Random(f"recap-funnel:{label}:{seed}")
    session_id = uuid7(start_ms, rng)
    person = person_for(rng, start_ms)
    browser = SimulatedBrowser(rng, start_ms)
    product = CATALOG[seed % 4]  # the home page's first row, on screen on every device
    _PLAYS[label](browser.open_tab(), product, nth)
    end_ms = browser.events[-1]["timestamp"] if browser.events else start_ms
    return GeneratedSession(
        session_id, person, browser.events, browser.truth.finish(session_id, start_ms, end_ms)
    )


def funnel_cases(directory: Path, labels: list[Label] | None = None) -> list[FunnelCase]:
    """One compiled session per label, an hour apart, with metadata and outcome (the
    completers succeeded, the others did not)."""
    cases = []
    counters: dict[Label, int] = {}
    for index, label in enumerate(labels if labels is not None else funnel_labels()):
        nth = counters.get(label, 0)
        counters[label] = nth + 1
        generated = generate_case(label, index, nth, DEFAULT_START_MS + index * HOUR_MS)
        timeline = compile_timeline(load_recording_file(generated.write_as(directory, "blob_v2")))
        session = FunnelSession(
            timeline=timeline,
            outcome=label == "completed",
            metadata=_metadata(label, nth),
        )
        cases.append(FunnelCase(label, session))
    return cases
