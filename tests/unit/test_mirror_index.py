"""The DOM mirror's cached facts stay true as mutations arrive: the `hides` flag follows
attribute changes, childless nodes share one empty children list without ever writing to
it, removed subtrees and replaced documents let go of their parents, and `collapse` reads
text as the regex did."""

from __future__ import annotations

import re
from typing import Any

import pytest

from recap.timeline.elements import NO_CHILDREN
from recap.timeline.mirror import DomMirror
from recap.timeline.page_text import collapse

Json = dict[str, Any]


def _el(node_id: int, tag: str, children: list[Json] | None = None, **attrs: str) -> Json:
    return {
        "type": 2,
        "id": node_id,
        "tagName": tag,
        "attributes": attrs,
        "childNodes": children or [],
    }


def _text(node_id: int, text: str) -> Json:
    return {"type": 3, "id": node_id, "textContent": text}


def _page() -> DomMirror:
    mirror = DomMirror()
    body = _el(3, "body", [_el(4, "div", [_el(5, "p", [_text(6, "Saved")])]), _el(7, "ul")])
    mirror.load_snapshot({"node": {"type": 0, "id": 1, "childNodes": [_el(2, "html", [body])]}})
    return mirror


def _mutation(**fields: list[Json]) -> Json:
    return {"source": 0, "adds": [], "removes": [], "texts": [], "attributes": [], **fields}


@pytest.mark.parametrize(
    "hiding", [{"style": "display: none"}, {"hidden": ""}, {"aria-hidden": "true"}]
)
def test_text_hidden_by_an_attribute_mutation_comes_back_when_it_is_undone(
    hiding: dict[str, str],
) -> None:
    mirror = _page()
    div = mirror.nodes[4]
    assert mirror.visible_text(div) == "Saved"
    mirror.apply_mutation(_mutation(attributes=[{"id": 4, "attributes": hiding}]))
    assert div.hides
    assert mirror.texts_in(mirror.nodes[5]) == []
    change = mirror.apply_mutation(
        _mutation(texts=[{"id": 6, "value": "Saved again"}]), want_text=True
    )
    assert change.changed_texts == []  # changed, but nobody can read it
    undo = dict.fromkeys(hiding, None)
    mirror.apply_mutation(_mutation(attributes=[{"id": 4, "attributes": undo}]))
    assert not div.hides
    assert mirror.texts_in(mirror.nodes[5]) == ["Saved again"]


def test_invisible_tags_hide_their_text_from_the_start() -> None:
    mirror = _page()
    mirror.apply_mutation(
        _mutation(adds=[{"parentId": 3, "node": _el(20, "script", [_text(21, "var x")])}])
    )
    assert mirror.nodes[20].hides
    assert mirror.texts_in(mirror.nodes[20]) == []


def test_childless_nodes_share_one_empty_list_that_stays_empty() -> None:
    mirror = _page()
    ul = mirror.nodes[7]
    assert ul.children is NO_CHILDREN
    adds = [
        {"parentId": 7, "nextId": None, "node": _el(10, "li")},
        {"parentId": 10, "nextId": None, "node": _text(11, "first")},
        {"parentId": 7, "nextId": None, "node": _el(12, "li", [_text(13, "second")])},
    ]
    summary = mirror.apply_mutation(_mutation(adds=adds), want_text=True)
    assert summary.added == 4
    assert summary.added_texts == ["first", "second"]
    assert [child.id for child in ul.children] == [10, 12]
    assert mirror.nodes[11].children is NO_CHILDREN
    assert NO_CHILDREN == []
    assert mirror.visible_text(ul) == "first second"


def test_a_removed_subtree_is_forgotten_and_lets_go_of_its_parents() -> None:
    mirror = _page()
    text = mirror.nodes[6]
    summary = mirror.apply_mutation(_mutation(removes=[{"parentId": 3, "id": 4}]), want_text=True)
    assert summary.removed == 3
    assert summary.removed_texts == ["Saved"]
    assert not {4, 5, 6} & mirror.nodes.keys()
    # no parent links left inside: the subtree is freed without waiting for the cycle GC
    assert text.parent is None
    assert [child.id for child in mirror.nodes[3].children] == [7]


def test_a_new_document_lets_go_of_the_old_one() -> None:
    mirror = _page()
    old = [mirror.nodes[node_id] for node_id in (2, 3, 6)]
    mirror.load_snapshot({"node": {"type": 0, "id": 1, "childNodes": [_el(2, "html", [])]}})
    # The old tree holds no parent links: it is freed at once, not by the cycle collector.
    assert [node.parent for node in old] == [None, None, None]
    assert mirror.nodes[2] is not old[0]
    assert mirror.nodes[2].parent is mirror.nodes[1]


def test_a_moved_node_keeps_its_subtree_and_takes_its_new_parents_visibility() -> None:
    mirror = _page()
    mirror.apply_mutation(
        _mutation(
            adds=[{"parentId": 3, "node": _el(30, "div", [], style="display:none")}],
        )
    )
    moved = mirror.apply_mutation(
        _mutation(adds=[{"parentId": 30, "node": _el(5, "p")}]), want_text=True
    )
    assert moved.added_texts == []  # "Saved" moved under a hidden parent
    assert mirror.nodes[5].parent is mirror.nodes[30]
    assert [child.id for child in mirror.nodes[4].children] == []
    assert mirror.nodes[6].parent is mirror.nodes[5]


_WHITESPACE = re.compile(r"\s+")
_GLYPHS = re.compile("[\ue000-\uf8ff\U000f0000-\U0010fffd\u200b-\u200f\u2060\ufeff]")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  Sign   up!\n",
        "a\u00a0b\u2028c\u3000d",  # no-break, line separator, ideographic space
        "x\x1c\x1dy\x1e\x1fz\x85",  # separators str.split and \s both count as spaces
        "\ue001 Cart \u200b(3)\ufeff",  # icon glyph and zero-width characters
        "caf\u00e9 \U000f0001 ok",
    ],
)
def test_collapse_reads_text_as_the_regex_definition_does(text: str) -> None:
    assert collapse(text) == _WHITESPACE.sub(" ", _GLYPHS.sub("", text)).strip()
