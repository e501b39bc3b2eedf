"""A KV pair's value as kv.yml declares it and as Kestra stores it: its canonical JSON form
and digest, the long form (``{value, ttl?, description?}``) read and written back, what
kv.yml cannot hold, and what looks like a secret. Shared by the KV kind's scan
(``kinds.kv``) and its pull (``kinds.kvpull``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

LONG_FORM_KEYS = {"value", "ttl", "description"}
# A key named like a secret: the word stands alone between separators (db_password,
# api-key, GITHUB_TOKEN), so `tokenizer_model` or `author` pass.
SECRET_NAME = re.compile(
    r"(?i)(^|[-_.])(passw(or)?d|pwd|secret|token|api[-_]?key|private[-_]?key|credentials?)"
    r"($|[-_.])"
)
SECRET_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bsk_live_[A-Za-z0-9]{10,}"
    r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."
)


def looks_secret(key: str, value: Any) -> bool:
    """A key named like a secret, a JSON value with a field named like one (``{"user": "app",
    "password": "..."}``), or a value shaped like one (a private key, a cloud token)."""
    if SECRET_NAME.search(key) or _secret_field(value):
        return True
    return isinstance(value, (str, dict, list)) and bool(SECRET_VALUE.search(canonical(value)))


def _secret_field(value: Any, depth: int = 0) -> bool:
    if depth > 50:  # deeper than any setting: judged a secret rather than walked for ever
        return True
    if isinstance(value, dict):
        return any(
            SECRET_NAME.search(str(k)) or _secret_field(v, depth + 1) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_secret_field(v, depth + 1) for v in value)
    return False


SECRET_HINT = (
    "KV values are readable by anyone who can read the namespace: keep it in Kestra secrets "
    "and read it with {{ secret('NAME') }}"
)


def canonical(value: Any) -> str:
    # allow_nan=False: `Infinity` is not JSON, and Kestra would store it as a string.
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def is_long_form(raw: Any) -> bool:
    """Whether kv.yml reads this mapping as ``{value, ttl?, description?}`` (not as JSON)."""
    return isinstance(raw, dict) and "value" in raw and set(raw) <= LONG_FORM_KEYS


def as_written(value: Any) -> Any:
    """What kv.yml must hold for the scan to read ``value`` back (pull writes it): a JSON
    object that looks like the long form (``{"value": "x", "description": "d"}``) is wrapped
    in one, or the next plan would send "x" instead."""
    return {"value": value} if is_long_form(value) else value


def as_read(raw: Any) -> Any:
    """The value the scan reads from one entry of kv.yml's ``values:`` (the inverse of
    ``as_written``)."""
    return plain_value(raw["value"] if is_long_form(raw) else raw)


def unwritable(value: Any) -> str | None:
    """Why kv.yml cannot hold a server's value so that the next plan sends it back, or None."""
    if value is None:
        return "its value is null, which kv.yml cannot declare"
    try:
        canonical(value)
    except ValueError:
        return "its value holds a number JSON cannot carry (infinity or NaN)"
    return None


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()


def plain_value(value: Any) -> Any:
    """YAML scalars as JSON would carry them (dates as ISO text)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_value(v) for v in value]
    return value
