"""Writes the API's OpenAPI document to `openapi.json` (committed; a test checks it is
current): `uv run python -m recap.api.openapi [PATH]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from recap.api.app import create_app


def document() -> str:
    return json.dumps(create_app().openapi(), indent=2, sort_keys=False) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("openapi.json")
    target.write_text(document(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
