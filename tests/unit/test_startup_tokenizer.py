"""The tokenizer's fast start: the parsed vocabulary is cached beside the BPE file and read
back as the same tokenizer; a damaged cache only costs speed; long texts are counted in
pieces that add up to the whole text's count."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recap.timeline import tokens as tokens_module


@pytest.fixture
def fresh_cache(tmp_path: Path) -> Iterator[Path]:
    tokens_module.load_encoding.cache_clear()
    yield tmp_path / "tiktoken"
    tokens_module.load_encoding.cache_clear()


def test_the_vocabulary_cache_gives_the_same_tokenizer(fresh_cache: Path) -> None:
    text = 'e12 00:41 click button[pay] "Pay $10!" [slow] -> navigated to /demo/3\n'
    first = tokens_module.load_encoding("o200k_base", fresh_cache)
    (ranks,) = fresh_cache.glob("o200k_base-*.ranks")
    tokens_module.load_encoding.cache_clear()
    second = tokens_module.load_encoding("o200k_base", fresh_cache)
    assert second is not first
    assert second.encode(text, disallowed_special=()) == first.encode(text, disallowed_special=())
    assert second.encode("<|endoftext|>", allowed_special="all") == [199999]
    assert ranks.stat().st_size > 1_000_000


def test_a_damaged_vocabulary_cache_is_ignored_and_rewritten(fresh_cache: Path) -> None:
    tokens_module.load_encoding("o200k_base", fresh_cache)
    (ranks,) = fresh_cache.glob("o200k_base-*.ranks")
    data = bytearray(ranks.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ranks.write_bytes(bytes(data))
    tokens_module.load_encoding.cache_clear()
    assert tokens_module.load_encoding("o200k_base", fresh_cache).encode("hello world") == [
        24912,
        2375,
    ]
    assert ranks.read_bytes() != bytes(data)


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_long_texts_are_counted_in_pieces_that_add_up(encoding: str) -> None:
    line = 'e{} 01:02 click button[pay] "Pay $1{}!" [rage,dead] -> POST /api/x 500\n'
    odd = "  \n\n]\n/x\nÉté 12345\n'll\n\u2028x\n"
    text = "".join(line.format(i, i % 7) + (odd if i % 5 == 0 else "") for i in range(40_000))
    assert len(text) > 4 * tokens_module._PIECE_CHARS
    whole = len(tokens_module.load_encoding(encoding).encode(text, disallowed_special=()))
    assert tokens_module.count_tokens(text, encoding) == whole
