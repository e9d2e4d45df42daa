"""A one-button page, recorded the way rrweb would: the button says what a test wants a site
visitor to have put on the page, and a textarea takes what they type."""

from __future__ import annotations

from typing import Any

BUTTON_ID = 3
TEXT_ID = 4
TEXTAREA_ID = 5


def button_page(label: str) -> dict[str, Any]:
    """A FullSnapshot's `data`: a body with a button labelled `label` and a textarea."""
    return {
        "node": {
            "type": 0,
            "id": 1,
            "childNodes": [
                {
                    "type": 2,
                    "id": 2,
                    "tagName": "body",
                    "attributes": {},
                    "childNodes": [
                        {
                            "type": 2,
                            "id": BUTTON_ID,
                            "tagName": "button",
                            "attributes": {},
                            "childNodes": [{"type": 3, "id": TEXT_ID, "textContent": label}],
                        },
                        {"type": 2, "id": TEXTAREA_ID, "tagName": "textarea", "attributes": {}},
                    ],
                }
            ],
        }
    }
