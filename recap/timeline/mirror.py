"""A lightweight replica of one window's DOM, rebuilt from rrweb snapshots and mutations.

The compiler asks it what a node id *was* at the moment of a click or keystroke, so a
summary can say `button "Sign up!"` instead of `node 90`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Final

from recap.timeline.elements import (
    CDATA,
    COMMENT,
    DOCUMENT,
    ELEMENT,
    INVISIBLE_TAGS,
    NO_ATTRS,
    NO_CHILDREN,
    TEXT,
    MirrorNode,
    developer_id,
    is_interactive,
    role_word,
)
from recap.timeline.locale import phone_regions
from recap.timeline.mirror_names import accessible_name, associated_label
from recap.timeline.page_text import LABEL_MAX_CHARS, clip, collapse, quoted
from recap.timeline.redact import redact_text

_TEXT_SCAN_CHARS: Final = 4 * LABEL_MAX_CHARS
_TEXTS_PER_MUTATION: Final = 64
# Elements the mirror keeps track of beyond the tree itself (`_note_element`).
_NOTED_TAGS: Final = frozenset({"label", "input", "html"})
_TEXT_KINDS: Final = frozenset({TEXT, CDATA, COMMENT})


@dataclass(slots=True)
class MutationSummary:
    """What one mutation event changed, enough to describe a click's effect."""

    added: int = 0
    removed: int = 0
    texts: int = 0
    attributes: int = 0
    # Visible text of added / removed subtrees and changed text nodes, only when asked.
    added_texts: list[str] = field(default_factory=list)
    removed_texts: list[str] = field(default_factory=list)
    changed_texts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.texts)


@dataclass(slots=True)
class FieldInfo:
    """An input element as redaction needs it."""

    tag: str
    attrs: dict[str, Any]
    label: str | None
    # A password field shown as text ("show password") is still one.
    was_password: bool = False

    @property
    def input_type(self) -> str:
        if self.tag != "input":
            return self.tag
        return str(self.attrs.get("type") or "text").lower()


def _is_password_input(node: MirrorNode) -> bool:
    attrs = node.attrs
    return node.tag == "input" and (
        str(attrs.get("type") or "").lower() == "password" or "data-rr-is-password" in attrs
    )


def _field_identity(node: MirrorNode) -> tuple[str, str]:
    name, dom_id = node.attrs.get("name"), node.attrs.get("id")
    return (name if isinstance(name, str) else "", dom_id if isinstance(dom_id, str) else "")


class DomMirror:
    """The DOM of one window as of the last applied event."""

    __slots__ = ("_labels", "_passwords", "lang", "nodes", "regions")

    def __init__(self) -> None:
        self.nodes: dict[int, MirrorNode] = {}
        self._labels: set[int] = set()
        # Inputs that were password fields at some point, with their name and id: a
        # "show password" toggle makes them text fields, and a later snapshot of the same
        # document shows them as such.
        self._passwords: dict[int, tuple[str, str]] = {}
        self.lang: str | None = None  # the document's `<html lang>`, a locale hint
        self.regions = phone_regions()  # where its phone numbers are read, from `lang`

    # -- building ---------------------------------------------------------------------

    def load_snapshot(self, data: Any) -> None:
        """Replace the mirror with a FullSnapshot's node tree."""
        # The old document's nodes link to their parents and their parents to them: unlinked,
        # they are freed here, not left for a full garbage collection to find.
        for old in self.nodes.values():
            old.parent = None
        self.nodes = {}
        self._labels = set()
        self.lang = None
        root = data.get("node") if isinstance(data, dict) else None
        if isinstance(root, dict):
            self._build(root, None)
        self.regions = phone_regions(lang=self.lang)
        # Node ids restart with a new document: a remembered password field stays one only
        # where the same field is still there.
        self._passwords = {
            node_id: identity
            for node_id, identity in self._passwords.items()
            if (node := self.nodes.get(node_id)) is not None
            and node.tag == "input"
            and _field_identity(node) == identity
        }

    def _build(
        self, serialized: dict[str, Any], parent: MirrorNode | None
    ) -> tuple[MirrorNode | None, int]:
        """Create a subtree (iteratively: real DOMs can be deeper than Python's stack);
        return its root (None when the root has no id) and how many nodes were built."""
        root = self._adopt(serialized, parent)
        children = serialized.get("childNodes")
        if root is None or not children or type(children) is not list:
            # Most mutations add one childless node at a time.
            return root, 0 if root is None else 1
        created = 1
        # Two parallel stacks rather than one of (raw, owner) pairs: no tuple per node,
        # and a node's children go on in one C-level call. Reversed so that popping keeps
        # document order among siblings.
        raws: list[Any] = list(reversed(children))
        owners: list[MirrorNode] = [root] * len(children)
        pop_raw, pop_owner, adopt = raws.pop, owners.pop, self._adopt
        while raws:
            raw = pop_raw()
            owner = pop_owner()
            if type(raw) is not dict:
                continue
            node = adopt(raw, owner)
            if node is None:
                continue
            created += 1
            children = raw.get("childNodes")
            if children and type(children) is list:
                raws.extend(reversed(children))
                owners.extend(repeat(node, len(children)))
        return root, created

    def _adopt(self, raw: dict[str, Any], owner: MirrorNode | None) -> MirrorNode | None:
        """The node `raw` serializes, new or moved, as the last child of `owner`; None
        when it has no id. Its serialized children are left to the caller."""
        node_id = raw.get("id")
        if type(node_id) is not int:
            return None
        kind = raw.get("type")
        if type(kind) is not int:
            kind = ELEMENT
        node = self.nodes.get(node_id)
        if node is None:
            if kind == ELEMENT:
                tag = raw.get("tagName")
                attrs = raw.get("attributes")
                node = MirrorNode(
                    node_id,
                    kind,
                    owner,
                    tag.lower() if isinstance(tag, str) else "",
                    attrs if type(attrs) is dict else NO_ATTRS,
                )
                if node.tag in _NOTED_TAGS:
                    self._note_element(node)
            elif kind in _TEXT_KINDS:
                text = raw.get("textContent")
                node = MirrorNode(node_id, kind, owner, text=text if isinstance(text, str) else "")
            else:
                node = MirrorNode(node_id, kind, owner)
            self.nodes[node_id] = node
        else:
            # A moved node: rrweb re-serializes it without children and re-adds those
            # separately, so keep the subtree unless a new one is supplied.
            self._detach(node)
            node.kind = kind
            if raw.get("childNodes"):
                for child in node.children:
                    child.parent = None
                    self._forget(child)
                node.children = NO_CHILDREN
            node.parent = owner
            if kind == ELEMENT:
                tag = raw.get("tagName")
                attrs = raw.get("attributes")
                node.set_element(
                    tag.lower() if isinstance(tag, str) else "",
                    attrs if type(attrs) is dict else NO_ATTRS,
                )
                if node.tag in _NOTED_TAGS:
                    self._note_element(node)
            elif kind in _TEXT_KINDS:
                text = raw.get("textContent")
                node.text = text if isinstance(text, str) else ""
        if owner is not None:
            if owner.children is NO_CHILDREN:
                owner.children = [node]
            else:
                owner.children.append(node)
        return node

    def _note_element(self, node: MirrorNode) -> None:
        """Labels, password fields and the document's language, as elements arrive."""
        tag = node.tag
        if tag == "label":
            self._labels.add(node.id)
        elif tag == "input":
            if _is_password_input(node):
                self._passwords[node.id] = _field_identity(node)
        elif tag == "html":
            lang = node.attrs.get("lang")
            self.lang = lang if isinstance(lang, str) and lang else self.lang

    def _detach(self, node: MirrorNode) -> None:
        owner = node.parent
        if owner is not None:
            # Not contextlib.suppress: a context manager per removed node shows in profiles.
            try:  # noqa: SIM105
                owner.children.remove(node)
            except ValueError:
                pass
            node.parent = None

    def _forget(self, node: MirrorNode) -> int:
        """Drop a detached subtree from the id index; returns how many nodes went."""
        nodes, labels = self.nodes, self._labels
        count = 0
        stack = [node]
        pop, extend = stack.pop, stack.extend
        while stack:
            current = pop()
            if nodes.get(current.id) is current:
                del nodes[current.id]
                if labels:
                    labels.discard(current.id)
                count += 1
            # No way back up: the subtree holds no cycle, so it is freed the moment the
            # caller lets go of it instead of waiting for a full garbage collection.
            current.parent = None
            if current.children:
                extend(current.children)
        return count

    def apply_mutation(self, data: dict[str, Any], want_text: bool = False) -> MutationSummary:
        """Apply an rrweb Mutation in replay order: removes, adds, texts, attributes."""
        summary = MutationSummary()
        nodes = self.nodes
        removes = data.get("removes")
        if isinstance(removes, list):
            for item in removes:
                node_id = item.get("id") if isinstance(item, dict) else None
                node = nodes.get(node_id) if type(node_id) is int else None
                if node is not None:
                    if want_text and len(summary.removed_texts) < _TEXTS_PER_MUTATION:
                        summary.removed_texts += self.texts_in(node)
                    self._detach(node)
                    summary.removed += self._forget(node)
        adds = data.get("adds")
        if isinstance(adds, list) and adds:
            self._apply_adds(adds, summary, want_text)
        texts = data.get("texts")
        if isinstance(texts, list):
            for item in texts:
                node_id = item.get("id") if isinstance(item, dict) else None
                node = nodes.get(node_id) if type(node_id) is int else None
                if node is None:
                    continue
                value = item.get("value")
                node.text = value if isinstance(value, str) else ""
                summary.texts += 1
                if want_text and len(summary.changed_texts) < _TEXTS_PER_MUTATION:
                    text = collapse(node.text)
                    if text and self._visible(node):
                        summary.changed_texts.append(text)
        attributes = data.get("attributes")
        if isinstance(attributes, list):
            for item in attributes:
                node_id = item.get("id") if isinstance(item, dict) else None
                node = nodes.get(node_id) if type(node_id) is int else None
                changes = item.get("attributes") if node is not None else None
                if node is None or not isinstance(changes, dict):
                    continue
                summary.attributes += 1
                was_password = _is_password_input(node)
                attrs = dict(node.attrs)  # the snapshot's dict belongs to the recording
                for name, value in changes.items():
                    if value is None:
                        attrs.pop(name, None)
                    elif isinstance(value, str):
                        attrs[name] = value
                    # rrweb sends style diffs as objects; labels never need them.
                node.set_element(node.tag, attrs)
                if was_password or _is_password_input(node):
                    self._passwords[node.id] = _field_identity(node)
        return summary

    def _apply_adds(self, adds: list[Any], summary: MutationSummary, want_text: bool) -> None:
        nodes = self.nodes
        pending = adds
        placements: list[tuple[MirrorNode, int]] = []
        while pending:
            deferred = []
            for item in pending:
                if type(item) is not dict:
                    continue
                serialized = item.get("node")
                if type(serialized) is not dict:
                    continue
                parent_id = item.get("parentId")
                parent = nodes.get(parent_id) if type(parent_id) is int else None
                if parent is None:
                    # rrweb may list a node before the parent it attaches to.
                    deferred.append(item)
                    continue
                if serialized.get("childNodes"):
                    node, created = self._build(serialized, parent)
                else:
                    # rrweb adds nodes one at a time, each with its parent's id: skip the
                    # subtree walk for what is nearly every add.
                    node, created = self._adopt(serialized, parent), 1
                if node is None:
                    continue
                summary.added += created
                next_id = item.get("nextId")
                if type(next_id) is int:
                    placements.append((node, next_id))
                if want_text and len(summary.added_texts) < _TEXTS_PER_MUTATION:
                    summary.added_texts += self.texts_in(node)
            if len(deferred) == len(pending):
                break  # orphans: their parents never arrive, rrweb drops them too
            pending = deferred
        if placements:
            self._place(placements)

    def _place(self, placements: list[tuple[MirrorNode, int]]) -> None:
        """Move added nodes before their `nextId` sibling, the end of each chain first.

        Deciding order only once every node exists keeps a batch linear instead of
        re-queueing a node until the sibling it precedes shows up.
        """
        next_of = {node.id: next_id for node, next_id in placements}
        done: set[int] = set()
        for first, _ in placements:
            chain: list[MirrorNode] = []
            current: MirrorNode | None = first
            while current is not None and current.id in next_of and current.id not in done:
                done.add(current.id)
                chain.append(current)
                current = self.nodes.get(next_of[current.id])
            for node in reversed(chain):
                anchor = self.nodes.get(next_of[node.id])
                parent = node.parent
                if (
                    anchor is None
                    or parent is None
                    or anchor.parent is not parent
                    or anchor is node
                ):
                    continue
                siblings = parent.children
                siblings.remove(node)
                siblings.insert(siblings.index(anchor), node)

    # -- reading ----------------------------------------------------------------------

    def node(self, node_id: int) -> MirrorNode | None:
        return self.nodes.get(node_id)

    def was_password(self, node_id: int) -> bool:
        """Whether an input was a password field at any point of this document."""
        return node_id in self._passwords

    def _lookup(self, node_id: Any) -> MirrorNode | None:
        """Ids straight from recorded JSON: anything but an int is simply unknown."""
        return self.nodes.get(node_id) if type(node_id) is int else None

    def _visible(self, node: MirrorNode) -> bool:
        current = node.parent
        while current is not None:
            if current.hides:
                return False
            current = current.parent
        return True

    def visible_text(self, node: MirrorNode, limit: int = _TEXT_SCAN_CHARS) -> str:
        """Collapsed text content without script/style, capped at about `limit` chars."""
        if node.kind in (TEXT, CDATA):
            return collapse(node.text) if self._visible(node) else ""
        if node.tag in INVISIBLE_TAGS or not self._visible(node):
            return ""
        parts: list[str] = []
        size = 0
        stack = [node]
        while stack and size < limit:
            current = stack.pop()
            if current.kind == TEXT:
                if current.text:
                    parts.append(current.text)
                    size += len(current.text)
                continue
            if current.kind != ELEMENT and current.kind != DOCUMENT:
                continue
            if current is not node and current.hides:
                continue
            if current.tag == "img":
                alt = current.attrs.get("alt")
                if isinstance(alt, str) and alt:
                    parts.append(f" {alt} ")
                    size += len(alt)
                continue
            stack.extend(reversed(current.children))
        return collapse(" ".join(parts) if len(parts) > 1 else "".join(parts))

    def texts_in(self, node: MirrorNode, limit: int = _TEXTS_PER_MUTATION) -> list[str]:
        """The visible text nodes of a subtree, each collapsed, in document order."""
        found: list[str] = []
        stack = [node]
        pop, extend = stack.pop, stack.extend
        while stack:
            current = pop()
            if current.kind == TEXT:
                if current.text:
                    text = collapse(current.text)
                    if text:
                        found.append(text)
                        if len(found) >= limit:
                            break
            elif not current.hides and current.children:
                extend(reversed(current.children))
        # Checked last: most added subtrees are empty elements, and the walk up is the cost.
        return found if found and self._visible(node) else []

    def _element(self, node: MirrorNode) -> MirrorNode | None:
        current: MirrorNode | None = node
        while current is not None and current.kind != ELEMENT:
            current = current.parent
        return current

    def interactive_target(self, node_id: int) -> MirrorNode | None:
        """The element a click on `node_id` was meant for, or None if the id is unknown."""
        node = self.nodes.get(node_id)
        if node is None:
            return None
        element = self._element(node)
        if element is None:
            return node
        current: MirrorNode | None = element
        while current is not None and current.tag not in ("body", "html"):
            if is_interactive(current):
                return current
            current = current.parent
        return element

    def label(self, node_id: int) -> str | None:
        """A human label like `button[signup] "Sign up!"`, or None when the node is unknown.

        The evidence follows spoiler's matcher order: a test id (data-testid, data-attr…)
        in brackets, then the accessible name (aria-label, label text, visible text,
        placeholder, title, href), then the role or tag alone.
        """
        target = self.interactive_target(node_id)
        if target is None:
            return None
        if target.kind != ELEMENT:
            text = clip(redact_text(self.visible_text(target), self.regions))
            return f"text {quoted(text)}" if text else "document"
        role = role_word(target)
        test_id = developer_id(target)
        name = accessible_name(self, target)
        if test_id and test_id != name:
            role = f"{role}[{test_id}]"
        return f"{role} {quoted(name)}" if name else role

    def form_of(self, node_id: int) -> int | None:
        """The id of the <form> that holds a node, if any."""
        current = self.nodes.get(node_id)
        while current is not None:
            if current.tag == "form":
                return current.id
            current = current.parent
        return None

    def selected_text(self, selection: dict[str, Any]) -> str:
        """The text of one rrweb selection range, when it starts and ends in text nodes."""
        start, end = selection.get("start"), selection.get("end")
        start_offset, end_offset = selection.get("startOffset"), selection.get("endOffset")
        first = self._lookup(start)
        if first is None or first.kind != TEXT or type(start_offset) is not int:
            return ""
        if start == end and type(end_offset) is int:
            return collapse(first.text[start_offset:end_offset])
        return collapse(first.text[start_offset:])

    def field(self, node_id: int) -> FieldInfo | None:
        """Tag, attributes and label text of an input element, for masking decisions."""
        node = self.nodes.get(node_id)
        if node is None or node.kind != ELEMENT:
            return None
        texts = [associated_label(self, node)]
        for key in ("placeholder", "aria-label", "title"):
            value = node.attrs.get(key)
            if isinstance(value, str):
                texts.append(value)
        label = " ".join(t for t in texts if t) or None
        return FieldInfo(
            tag=node.tag, attrs=node.attrs, label=label, was_password=node_id in self._passwords
        )

    def labels(self) -> Iterator[MirrorNode]:
        """The document's <label> elements (those with a `for` are looked up by it)."""
        for label_id in self._labels:
            label = self.nodes.get(label_id)
            if label is not None:
                yield label
