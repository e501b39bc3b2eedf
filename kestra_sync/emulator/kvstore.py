"""The KV store endpoints: ``PUT|GET|DELETE /api/v1/{tenant}/namespaces/{namespace}/kv/{key}``
and ``GET .../kv`` (sources in resources.py's docstring: KVController, InternalKVStore, KVStore,
KVType)."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from operator import itemgetter
from typing import Any

from . import rules
from .errors import invalid_filters
from .resources import (
    ResourceStore,
    StoredValue,
    _empty,
    _illegal,
    _iso,
    _json,
    _millis,
    _not_found,
    _store,
)

KEY_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")  # KVStore.KEY_VALIDATOR_PATTERN
KEY_MESSAGE = (
    "Key must start with an alphanumeric character (uppercase or lowercase) and can contain "
    "alphanumeric characters (uppercase or lowercase), dots (.), underscores (_), and hyphens "
    "(-) only."
)
# InternalKVStore.DURATION_PATTERN: a stored string that looks like a duration reads as one.
DURATION = re.compile(r"^P(?=[^T]|T.)(?:\d*D)?(?:T(?=.)(?:\d*H)?(?:\d*M)?(?:\d*S)?)?$")
ION_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$")
ION_SYMBOL = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def _key(p: dict) -> str:
    key = p["key"]
    if not KEY_PATTERN.fullmatch(key):
        raise _illegal(KEY_MESSAGE)
    return key


# Jackson's StreamReadConstraints.DEFAULT_MAX_DEPTH: deeper input is a StreamConstraintsException.
MAX_NESTING = 1000
_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether JSON ``text`` nests arrays and objects deeper than ``limit``, in one pass over
    its brackets, quotes and backslashes (no recursion, whatever the depth)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped_at = 0, False, -1
    for match in _STRUCTURE.finditer(text):
        char, at = match.group(), match.start()
        if at == escaped_at:
            continue
        if char == "\\":
            escaped_at = at + 1
        elif char == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")  # Python's json takes NaN and Infinity


def _number(text: str) -> Any:
    value = float(text)
    # Ion reads `1e400` as a float, which overflows to infinity; Jackson writes a non-finite
    # double as the text "Infinity" (WRITE_NAN_AS_STRINGS, on by default): inferred, KNOWN_GAPS.
    return value if math.isfinite(value) else str(value).replace("inf", "Infinity")


def _read_ion(text: str, fallback_to_string: bool) -> tuple[Any, str]:
    """The value and its KVType as ``JacksonMapper.ofIon().readTree`` then ``KVType.from`` see
    it. JSON is valid Ion; an Ion timestamp is a DATETIME/DATE, a bare symbol a STRING. Other
    Ion syntax is not emulated (KNOWN_GAPS). Input nested deeper than Jackson's limit makes
    readTree throw a JsonProcessingException, on which KVController.setKeyValue stores the
    body as text (kestra-io/kestra webserver/.../KVController.java at 996466e0)."""
    stripped = text.strip()
    too_deep = nested_deeper_than(stripped, MAX_NESTING)
    try:
        if too_deep:
            raise RecursionError
        value = json.loads(stripped, parse_constant=_not_json, parse_float=_number)
    except RecursionError:  # Python's own limit is a little under Jackson's: as deep
        if fallback_to_string:  # what readTree refuses is stored as text from 1.2 (below)
            return text, "STRING"
        raise _illegal(f"Invalid JSON value for: {text}") from None
    except ValueError:
        if ION_TIMESTAMP.match(stripped):
            return stripped, "DATETIME" if "T" in stripped else "DATE"
        if ION_SYMBOL.match(stripped) and stripped not in ("null",):
            return stripped, "STRING"
        if fallback_to_string:
            # From 1.2, text that is no JSON is stored as the string it is: kestra-io/kestra
            # 281301ea7 (KVController, 2025-12-31; KVControllerTest#jsonFallback).
            return text, "STRING"
        raise _illegal(f"Invalid JSON value for: {text}") from None
    if isinstance(value, str) and not stripped.startswith('"'):
        return value, "NUMBER"  # a float that overflowed (_number)
    return value, _kv_type(value)


def _kv_type(value: Any) -> str:
    if value is None or isinstance(value, str):
        if isinstance(value, str) and DURATION.match(value):
            return "DURATION"
        return "STRING"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, (int, float)):
        return "NUMBER"
    return "JSON"


_DURATION_PARTS = re.compile(
    r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)


def _ttl_ms(raw: str) -> int:
    match = _DURATION_PARTS.match(raw.strip())
    if not match or not any(match.groups()):
        # Duration.parse throws DateTimeParseException -> ErrorController's Throwable (inferred).
        raise rules.Rejection(
            500,
            "Internal server error",
            "Internal server error: Text cannot be parsed to a Duration",
        )
    d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return int(timedelta(days=d, hours=h, minutes=m, seconds=s).total_seconds() * 1000)


def _live(store: ResourceStore, tenant: str, namespace: str) -> dict[str, StoredValue]:
    table = store.kv.setdefault((tenant, namespace), {})
    now = _millis()
    for key in [k for k, v in table.items() if v.expires is not None and v.expires <= now]:
        del table[key]
    return table


def put_key(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    key = _key(p)
    ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype not in ("application/json", "text/plain"):
        raise rules.Rejection(
            415,
            "Unsupported Media Type",
            "Unsupported Media Type",
            [
                {
                    "message": f"Content Type [{ctype or 'null'}] not allowed. Allowed types: "
                    "[application/json, text/plain]"
                }
            ],
        )
    value, kv_type = _read_ion(handler.body.decode("utf-8"), handler.server.config.at_least("1.2"))
    ttl = handler.headers.get("ttl")
    expires = _millis() + _ttl_ms(ttl) if ttl else None
    store = _store(handler)
    with store.lock:
        table = store.kv.setdefault((tenant, namespace), {})
        old = table.get(key)
        table[key] = StoredValue(
            value,
            kv_type,
            expires=expires,
            description=handler.headers.get("description"),
            created=old.created if old else _millis(),
            revision=(old.revision + 1) if old else 1,
        )
        store.save()
    return _empty()


def get_key(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    key = _key(p)
    store = _store(handler)
    with store.lock:
        table = store.kv.setdefault((tenant, namespace), {})
        stored = table.get(key)
        if stored is not None and stored.expires is not None and stored.expires <= _millis():
            del table[key]
            raise rules.Rejection(
                410, "Resource has expired", "Resource has expired: The requested value has expired"
            )
    if stored is None:
        raise _not_found(f"No value found for key '{key}' in namespace '{namespace}'")
    return _json(
        {
            "type": stored.kv_type,
            "value": stored.value,
            "revision": stored.revision,
            "updated": _iso(stored.updated),
        }
    )


def delete_key(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    key = _key(p)
    store = _store(handler)
    with store.lock:
        existed = store.kv.setdefault((tenant, namespace), {}).pop(key, None) is not None
        store.save()
    return _json(existed)


def _entry(namespace: str, key: str, v: StoredValue) -> dict[str, Any]:
    """A KVEntry (Kestra's OpenAPI description, docs/kestra-api.md): no value. An unset
    description or expiration is left out, not null: Kestra serializes with
    `jackson.serialization-inclusion: non_null` (kestra-io/kestra
    cli/src/main/resources/application.yml, l.88 at the 0.22 cut ea7c709f5^, l.118 at
    8ecd8337); found by the OpenAPI oracle (docs/oracles.md)."""
    entry = {
        "namespace": namespace,
        "key": key,
        "revision": v.revision,
        "description": v.description,
        "creationDate": _iso(v.created),
        "updateDate": _iso(v.updated),
        "expirationDate": _iso(v.expires),
    }
    return {name: value for name, value in entry.items() if value is not None}


def list_keys(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    """``GET …/namespaces/{ns}/kv`` up to 1.3 (knowledge.KV_NAMESPACE_LISTING)."""
    store = _store(handler)
    with store.lock:
        table = _live(store, tenant, namespace)
        entries = [_entry(namespace, key, v) for key, v in sorted(table.items())]
    return _json(entries)


def delete_keys(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    """``DELETE …/kv`` with ``{"keys": [...]}`` (KVController.deleteKeyValues, every version):
    ``{"keys": [the ones that existed]}``. A key that is not valid is skipped (inferred: the
    controller ignores only IOExceptions)."""
    body = handler.json_body(handler.body)
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list):
        keys = []
    store = _store(handler)
    deleted = []
    with store.lock:
        table = _live(store, tenant, namespace)
        for key in keys:
            if isinstance(key, str) and table.pop(key, None) is not None:
                deleted.append(key)
        store.save()
    return _json({"keys": deleted})


# filters[...] the tenant-wide listing takes (inferred: the KV resource's fields are not in the
# spec; namespace as for flows, q on the key).
_TEXT_OPS = ("EQUALS", "NOT_EQUALS", "CONTAINS", "STARTS_WITH", "ENDS_WITH", "IN", "NOT_IN")
KV_FILTER_OPS = {"namespace": (*_TEXT_OPS, "PREFIX"), "q": ("EQUALS", "NOT_EQUALS")}


def _kv_filters(handler: Any) -> list[tuple[str, str, str]]:
    found, errors = [], []
    for key, value in handler.query:
        m = re.fullmatch(r"filters\[([^\]]+)\]\[([^\]]+)\]", key)
        if not m:
            continue
        name, op = m.group(1), m.group(2).upper()
        if op not in KV_FILTER_OPS.get(name, ()):
            errors.append(f"{name} {op}")
            continue
        found.append((name, op, value))
    if errors:
        raise invalid_filters(errors)
    return found


def _kv_filter_ok(namespace: str, key: str, f: tuple[str, str, str]) -> bool:
    name, op, value = f
    if name == "q":
        return (value.lower() in key.lower()) == (op == "EQUALS")
    values = value.strip("[]").split(",")
    return {
        "EQUALS": namespace == value,
        "NOT_EQUALS": namespace != value,
        "CONTAINS": value in namespace,
        "STARTS_WITH": namespace.startswith(value),
        "ENDS_WITH": namespace.endswith(value),
        "IN": namespace in values,
        "NOT_IN": namespace not in values,
        "PREFIX": namespace == value or namespace.startswith(value + "."),
    }[op]


def list_all_keys(handler: Any, tenant: str) -> Any:
    """``GET /api/v1/{tenant}/kv`` (listAllKeys, knowledge.KV_TENANT_LISTING): the KVEntry of
    every live key of the tenant, ``{results, total}``, paged (``page`` from 1, ``size`` default
    10, KVController at 8ecd8337). Ordered by namespace then key unless ``sort`` says ``key`` or
    ``namespace`` (the default order is inferred)."""
    page, size = handler.int_param("page", 1), handler.int_param("size", 10)
    bad = [
        rules.Violation(f"listAllKeys.{name}", "must be greater than or equal to 1")
        for name, value in (("page", page), ("size", size))
        if value < 1
    ]
    if bad:  # as searchFlows' @Min(1) (inferred for this endpoint)
        raise rules.ConstraintViolations(bad)
    filters = _kv_filters(handler)
    store = _store(handler)
    with store.lock:
        entries = []
        for ns_tenant, namespace in sorted(k for k in store.kv if k[0] == tenant):
            for key, v in sorted(_live(store, ns_tenant, namespace).items()):
                if all(_kv_filter_ok(namespace, key, f) for f in filters):
                    entries.append(_entry(namespace, key, v))
    for spec in reversed(handler.params("sort")):
        field, _, direction = spec.partition(":")
        if field in ("key", "namespace"):
            entries.sort(key=itemgetter(field), reverse=direction != "asc")
    window = entries[(page - 1) * size : page * size]
    return _json({"results": window, "total": len(entries)})
