"""What an input field is for, from its attributes and label: a secret (a password in any
language, a card, a one-time code, a token, …) or a phone number. The compiler masks the
values of the first and redacts numbers in the second (`recap.timeline.redact`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
# `userPassword` -> `user-Password`, `pass1` -> `pass-1`, `cvv2` -> `cvv-2`.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_UNICODE_WORD_SPLIT = re.compile(r"[\W_]+")

# Whole words (after splitting names like `cc-number`, `userPassword`, `card_cvc`).
_SENSITIVE_FIELD_WORDS: Final = frozenset(
    {
        "password", "passwd", "pwd", "pw", "pass", "passcode", "secret", "token", "otp", "totp",
        "mfa", "cc", "card", "creditcard", "ccnumber", "cardnumber", "cvv", "cvc", "csc", "cvn",
        "cvd", "ssn", "iban", "pin",
    }
)  # fmt: skip
# Substrings that are sensitive wherever they appear (`newpassword`, `apitoken`,
# `security_code`, `verificationCode`).
_SENSITIVE_FIELD_PARTS: Final = (
    "password", "passwd", "secret", "token", "creditcard", "cardnumber", "cvv", "cvc",
    "iban", "securitycode", "cardcode", "verificationcode", "cardverification",
    "onetimecode", "authcode", "passcode", "pincode", "2fa",
)  # fmt: skip
_SENSITIVE_AUTOCOMPLETE: Final = frozenset({"current-password", "new-password", "one-time-code"})
# "Password" in the languages sites are written in, as labels and placeholders show it:
# parts match inside a word (`Passwort vergessen?`, `Nouveau mot de passe`), words only
# whole (`senha` is in `resenha`).
_PASSWORD_LABEL_PARTS: Final = (
    "passwort", "kennwort", "motdepasse", "contraseña", "contrasena", "wachtwoord",
    "lösenord", "losenord", "adgangskode", "salasana", "palavrapasse", "jelszó", "パスワード",
    "暗証番号", "密码", "密碼", "비밀번호", "пароль", "كلمةالمرور", "סיסמה", "รหัสผ่าน",
    "katasandi", "mậtkhẩu",
)  # fmt: skip
_PASSWORD_LABEL_WORDS: Final = frozenset(
    {"senha", "senhas", "hasło", "hasła", "haslo", "heslo", "hesla", "şifre", "sifre",
     "passord", "lozinka", "geslo"}
)  # fmt: skip
_PASSWORD_LABEL_PART = re.compile("|".join(map(re.escape, _PASSWORD_LABEL_PARTS)))
# Fields that hold a phone number: any number typed into them is one.
_PHONE_FIELD_WORDS: Final = frozenset(
    {"phone", "tel", "telephone", "mobile", "cell", "cellphone", "fax", "msisdn", "whatsapp",
     "telefon", "telefono", "telefone", "handy", "celular", "portable"}
)  # fmt: skip


def words(name: str) -> list[str]:
    """A field name's words: `userPassword` -> user, password; `cc-number` -> cc, number."""
    return [w for w in _WORD_SPLIT.split(_CAMEL.sub("-", name).lower()) if w]


def compact(name: str) -> str:
    """A field name's letters and digits, lowercased: `security_code` -> securitycode."""
    return _WORD_SPLIT.sub("", name.lower())


def _names_password(name: str) -> bool:
    """Whether a label says "password" in one of the languages sites are written in."""
    words = _UNICODE_WORD_SPLIT.split(name.casefold())
    if not _PASSWORD_LABEL_WORDS.isdisjoint(words):
        return True
    return _PASSWORD_LABEL_PART.search("".join(words)) is not None


@lru_cache(maxsize=4096)  # a recording names the same few fields again and again
def is_sensitive_name(name: str | None) -> bool:
    """Whether a field name, id, label or autocomplete token suggests a secret."""
    if not name:
        return False
    if any(word in _SENSITIVE_FIELD_WORDS for word in words(name)):
        return True
    joined = compact(name)
    if any(part in joined for part in _SENSITIVE_FIELD_PARTS):
        return True
    return _names_password(name)


def is_sensitive_field(attributes: Mapping[str, Any], label: str | None = None) -> bool:
    """Whether an input element (by its rrweb attributes and label text) holds a secret."""
    field_type = str(attributes.get("type") or "").lower()
    if field_type == "password":
        return True
    # rrweb marks inputs that were password fields before a "show password" toggle.
    marked = attributes.get("data-rr-is-password")
    if marked is not None and str(marked).lower() != "false":
        return True
    autocomplete = str(attributes.get("autocomplete") or "").lower()
    tokens = autocomplete.split()
    if any(t in _SENSITIVE_AUTOCOMPLETE or t.startswith("cc-") for t in tokens):
        return True
    for key in ("name", "id", "autocomplete", "aria-label", "data-testid"):
        value = attributes.get(key)
        if isinstance(value, str) and is_sensitive_name(value):
            return True
    return is_sensitive_name(label)


def is_phone_field(attributes: Mapping[str, Any] | None, label: str | None = None) -> bool:
    """Whether an input element holds a phone number (`type=tel`, `name="mobile"`, …)."""
    if attributes is not None:
        if str(attributes.get("type") or "").lower() == "tel":
            return True
        if str(attributes.get("inputmode") or "").lower() == "tel":
            return True
        if str(attributes.get("autocomplete") or "").lower().startswith("tel"):
            return True
        for key in ("name", "id", "aria-label", "data-testid"):
            value = attributes.get(key)
            if isinstance(value, str) and _names_phone(value):
                return True
    return bool(label) and _names_phone(label or "")


def _names_phone(name: str) -> bool:
    return any(w in _PHONE_FIELD_WORDS for w in words(name)) or "phone" in compact(name)


def is_rrweb_masked(value: str) -> bool:
    """rrweb's maskInputOptions replace every character with `*`."""
    return bool(value) and value.strip("*") == ""
