"""One node of the DOM mirror and what its tag and attributes alone say about it: whether
it is hidden or interactive, the role a reader would name, the test id developers gave it.
"""

from __future__ import annotations

from typing import Any, Final

from recap.recording import rrweb as rr
from recap.timeline.page_text import clip, collapse
from recap.timeline.redact import redact_text

# rrweb serialized node types, by the short names the mirror uses
DOCUMENT: Final = rr.NODE_DOCUMENT
DOCUMENT_TYPE: Final = rr.NODE_DOCUMENT_TYPE
ELEMENT: Final = rr.NODE_ELEMENT
TEXT: Final = rr.NODE_TEXT
CDATA: Final = rr.NODE_CDATA
COMMENT: Final = rr.NODE_COMMENT

INVISIBLE_TAGS: Final = frozenset(
    {"script", "style", "noscript", "template", "head", "meta", "link", "title"}
)
BUTTON_INPUT_TYPES: Final = frozenset({"submit", "button", "reset", "image"})
FORM_FIELD_TAGS: Final = frozenset({"input", "select", "textarea"})
_INTERACTIVE_TAGS: Final = frozenset(
    {"a", "button", "input", "select", "textarea", "label", "summary", "option"}
)
_INTERACTIVE_ROLES: Final = frozenset(
    {
        "button", "link", "checkbox", "radio", "tab", "menuitem", "menuitemcheckbox",
        "menuitemradio", "option", "switch", "combobox", "textbox", "searchbox", "slider",
        "treeitem", "spinbutton",
    }
)  # fmt: skip
_TEST_ID_ATTRS: Final = (
    "data-testid", "data-test-id", "data-test", "data-cy", "data-qa", "data-attr",
)  # fmt: skip
_TEST_ID_CHARS: Final = 40

NO_ATTRS: Final[dict[str, Any]] = {}
# The children of every childless node, shared (so never appended to: `DomMirror` gives a
# node a list of its own with its first child). Text nodes, half of a DOM, need none.
NO_CHILDREN: Final[list[MirrorNode]] = []


class MirrorNode:
    """One node of the mirror. A plain slotted class: snapshots create thousands."""

    __slots__ = ("attrs", "children", "hides", "id", "kind", "parent", "tag", "text")

    def __init__(
        self,
        node_id: int,
        kind: int,
        parent: MirrorNode | None = None,
        tag: str = "",
        attrs: dict[str, Any] = NO_ATTRS,
        text: str = "",
    ) -> None:
        # Everything in one call: mutations create nodes by the hundred thousand.
        self.id = node_id
        self.kind = kind
        self.parent = parent
        self.tag = tag
        # Shared with the recording (never written: attribute mutations copy first).
        self.attrs = attrs
        self.text = text
        self.children = NO_CHILDREN
        # Kept in step with `tag` and `attrs` (`set_element`), because every text walk
        # asks it of every ancestor.
        self.hides = hides_text(tag, attrs) if attrs else tag in INVISIBLE_TAGS

    def set_element(self, tag: str, attrs: dict[str, Any]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.hides = hides_text(tag, attrs)


def hides_text(tag: str, attrs: dict[str, Any]) -> bool:
    """Whether an element keeps its whole subtree's text from readers: never rendered
    (script, style, head…) or hidden by its attributes."""
    if tag in INVISIBLE_TAGS:
        return True
    if not attrs:
        return False
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    style = attrs.get("style")
    return isinstance(style, str) and (
        "display: none" in style or "display:none" in style or "visibility: hidden" in style
    )


def is_interactive(el: MirrorNode) -> bool:
    if el.tag in _INTERACTIVE_TAGS:
        return True
    role = el.attrs.get("role")
    if isinstance(role, str) and role.split(" ", 1)[0] in _INTERACTIVE_ROLES:
        return True
    return "onclick" in el.attrs


def role_word(el: MirrorNode) -> str:
    role = el.attrs.get("role")
    if isinstance(role, str) and role:
        first = role.split(" ", 1)[0]
        if first in _INTERACTIVE_ROLES:
            return first
    tag = el.tag
    if tag == "a":
        return "link"
    if tag == "input":
        input_type = str(el.attrs.get("type") or "text").lower()
        if input_type in ("checkbox", "radio"):
            return input_type
        if input_type in BUTTON_INPUT_TYPES:
            return "button"
        return "input" if input_type == "text" else f"input:{input_type}"
    return tag or "element"


def developer_id(el: MirrorNode) -> str | None:
    """The id developers gave the element for tests or analytics (PostHog's data-attr)."""
    for key in _TEST_ID_ATTRS:
        value = el.attrs.get(key)
        if isinstance(value, str):
            text = collapse(value).replace("[", "(").replace("]", ")")
            if text:
                return clip(redact_text(text), _TEST_ID_CHARS)
    return None


def href_path(href: Any) -> str | None:
    """A link's target as a reader would name it: the path, without query or origin."""
    if not isinstance(href, str) or not href or href.startswith(("javascript:", "#")):
        return None
    path = href.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1]
    return path or None
