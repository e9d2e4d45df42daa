"""The signed cookies of recap's pages: an HMAC-SHA256 over the value, under a key
derived from RECAP_SECRET_KEY when it is set, else a random key kept in the data
directory, so one deployment's cookies mean nothing to another."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from contextlib import suppress
from pathlib import Path

from starlette.requests import Request

from recap.core.config import Settings

_KEY_FILE = "ui-cookie.key"
_PURPOSE = b"recap ui cookie v1"


def cookie_key(settings: Settings) -> bytes:
    """The signing key: derived from RECAP_SECRET_KEY (never the key itself, which seals
    team secrets), else the data directory's own, made on first use."""
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value().encode("utf-8")
        return hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
    return _stored_key(settings.data_dir / _KEY_FILE)


def _stored_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        # A link fails when the file exists: of two processes starting at once, one key wins
        # and both read it.
        with suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


class CookieSigner:
    """Signs a value as `value.mac` and reads it back, refusing a value it did not sign."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def sign(self, value: str) -> str:
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str | None) -> str | None:
        if not signed or len(signed) > 512:
            return None
        value, _, mac = signed.rpartition(".")
        if not value or not hmac.compare_digest(mac, self._mac(value)):
            return None
        return value


def served_over_https(request: Request, settings: Settings) -> bool:
    """Whether cookies get `Secure`: the request came over HTTPS (uvicorn reads a trusted
    proxy's X-Forwarded-Proto), or the deployment's public URL is https."""
    public = settings.api_public_url or ""
    return request.url.scheme == "https" or public.lower().startswith("https://")
