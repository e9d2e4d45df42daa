"""Team secrets encrypted at rest: a `SecretBox` seals them with Fernet (AES-128-CBC and
HMAC-SHA256) under RECAP_SECRET_KEY, so a copied database holds no usable PostHog key."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SecretKeyMissing(Exception):
    """A secret must be stored or read, and RECAP_SECRET_KEY is not set."""

    code = "secret_key_missing"


class SecretUnreadable(Exception):
    """A stored secret does not open under RECAP_SECRET_KEY (another key, or tampered)."""

    code = "secret_unreadable"


class SecretBox:
    """Seals and opens secrets under one Fernet key."""

    def __init__(self, key: str | None) -> None:
        self._fernet: Fernet | None = None
        if key is not None:
            try:
                self._fernet = Fernet(key.strip().encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raise SecretKeyMissing(
                    "RECAP_SECRET_KEY is not a Fernet key (32 bytes, url-safe base64);"
                    " make one with `recap teams key`"
                ) from None

    @staticmethod
    def generate() -> str:
        """A fresh key for RECAP_SECRET_KEY."""
        return Fernet.generate_key().decode("ascii")

    def _key(self, action: str) -> Fernet:
        if self._fernet is None:
            raise SecretKeyMissing(
                f"cannot {action} a team secret without RECAP_SECRET_KEY: make a key with"
                " `recap teams key` and set it on the API, the worker and the CLI"
            )
        return self._fernet

    def seal(self, secret: str) -> str:
        return self._key("store").encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str, *, what: str) -> str:
        try:
            return self._key("read").decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable(
                f"{what} does not open under RECAP_SECRET_KEY: it was stored under another"
                " key; set the key it was stored with, or store the secret again"
            ) from None
