"""How a reader names an element of the DOM mirror: its accessible name and the text of
the <label> that goes with a form field, following the order browsers and spoiler use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from recap.timeline.elements import (
    BUTTON_INPUT_TYPES,
    ELEMENT,
    FORM_FIELD_TAGS,
    TEXT,
    MirrorNode,
    href_path,
)
from recap.timeline.page_text import clip, collapse, without_echo
from recap.timeline.redact import redact_text


class NamedDocument(Protocol):
    """What naming needs of a `DomMirror` (a protocol, so this module needs no import of
    the mirror, which imports it)."""

    nodes: dict[int, MirrorNode]
    regions: tuple[str, ...]

    def visible_text(self, node: MirrorNode) -> str: ...

    def labels(self) -> Iterator[MirrorNode]: ...


def accessible_name(mirror: NamedDocument, el: MirrorNode) -> str:
    """What a reader calls an element: aria-label, its label's or its own text, then
    placeholder, title, link target, name or id; redacted and clipped."""
    attrs = el.attrs
    candidates: list[Any] = [attrs.get("aria-label")]
    labelledby = attrs.get("aria-labelledby")
    if isinstance(labelledby, str) and labelledby:
        candidates.append(_text_of_ids(mirror, labelledby.split()))
    is_button_input = el.tag == "input" and str(attrs.get("type", "")).lower() in (
        BUTTON_INPUT_TYPES
    )
    if el.tag in FORM_FIELD_TAGS and not is_button_input:
        # Form fields have no text of their own; their <label> is what users read.
        candidates += [
            lambda: associated_label(mirror, el),
            attrs.get("placeholder"),
            attrs.get("title"),
            attrs.get("name"),
            attrs.get("id"),
        ]
    else:
        if is_button_input:
            candidates.append(attrs.get("value"))
        candidates += [
            lambda: mirror.visible_text(el),
            attrs.get("placeholder"),
            attrs.get("title"),
            attrs.get("alt"),
            lambda: associated_label(mirror, el),
            lambda: href_path(attrs.get("href")),
            attrs.get("name"),
            attrs.get("id"),
        ]
    for candidate in candidates:
        value = candidate() if callable(candidate) else candidate
        if isinstance(value, str):
            text = collapse(value)
            if text:
                return clip(redact_text(without_echo(text), mirror.regions))
    return ""


def _text_of_ids(mirror: NamedDocument, dom_ids: list[str]) -> str:
    wanted = set(dom_ids)
    found = [n for n in mirror.nodes.values() if n.kind == ELEMENT and n.attrs.get("id") in wanted]
    return " ".join(mirror.visible_text(n) for n in found)


def associated_label(mirror: NamedDocument, el: MirrorNode) -> str | None:
    """The text of a form field's <label>: by `for`, around it, or right beside it."""
    dom_id = el.attrs.get("id")
    if isinstance(dom_id, str) and dom_id:
        for label in mirror.labels():
            if label.attrs.get("for") == dom_id:
                return mirror.visible_text(label)
    current = el.parent
    while current is not None:
        if current.tag == "label":
            return mirror.visible_text(current)
        current = current.parent
    # Unassociated sibling labels (`<label>Username</label><input>`) are common enough
    # in the wild that users clearly read them as the field's label.
    siblings = el.parent.children if el.parent is not None else []
    index = next((i for i, n in enumerate(siblings) if n is el), -1)
    checkable = el.tag == "input" and str(el.attrs.get("type", "")).lower() in (
        "checkbox",
        "radio",
    )
    neighbours = [*reversed(siblings[:index])]
    if checkable:
        neighbours = [*siblings[index + 1 :], *neighbours]
    for sibling in neighbours:
        if sibling.kind != ELEMENT:
            if sibling.kind == TEXT and not sibling.text.strip():
                continue
            break
        if sibling.tag == "label" and "for" not in sibling.attrs:
            return mirror.visible_text(sibling)
        if not checkable:
            break
    return None
