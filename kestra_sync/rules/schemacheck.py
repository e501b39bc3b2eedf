"""Schema validation of flows: the bundled structural schema and a user-given full schema
(``--schema FILE_OR_URL``, downloaded once and cached on disk). Split from ``validate.py``, which
holds the flow rules; behaviour unchanged."""

from __future__ import annotations

import contextlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..models import Diagnostic, LocalFlow
from ..models import diag_at as _diag
from ..settings.cachedir import read_own_file, user_cache_dir
from ..source.yamlindex import ParsedYaml, format_path
from .flowrules import value_at
from .guidance import did_you_mean

BUNDLED_SCHEMA = Path(__file__).parent / "schema" / "flow.schema.json"


# ---------------------------------------------------------------------------------------------
# schema


@lru_cache(maxsize=8)
def _load_schema_text(text: str) -> dict:
    return json.loads(text)


def load_schema(path: Path | str | None = None) -> dict:
    """The bundled structural schema, or a schema file (e.g. the server's full flow schema)."""
    target = Path(path) if path else BUNDLED_SCHEMA
    return _load_schema_text(target.read_text(encoding="utf-8"))


_JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("number", "integer"):
        if isinstance(value, bool):
            return False
        return isinstance(value, int) if name == "integer" else isinstance(value, (int, float))
    return isinstance(value, _JSON_TYPES.get(name, object))


def _fast_schema_ok(data: Any, schema: dict) -> bool:
    """True when ``data`` surely satisfies the bundled schema (type/required/additional keys
    only). False means: ask jsonschema for the exact errors. Keeps jsonschema's import (~60 ms)
    out of runs where every flow is fine."""
    if not isinstance(data, dict):
        return False
    closed, rules, required = _compiled(schema)
    if any(k not in data for k in required):
        return False
    for key, value in data.items():
        rule = rules.get(key, _FREE)
        if rule is _FREE:
            if closed:
                return False
            continue
        if rule is None:
            return False  # a keyword only jsonschema checks
        classes, items = rule
        if classes is not None and value.__class__ not in classes:
            return False
        if (
            items is not _FREE
            and isinstance(value, list)
            and (items is None or any(v.__class__ not in items for v in value))
        ):
            return False
    return True


# JSON types as the exact classes a parse gives (bool is not an integer, as in _is_type); a
# value of another class (a subclass) is left to jsonschema.
_EXACT = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "integer": (int,),
    "number": (int, float),
}
_FREE: Any = object()  # no constraint
_COMPILED: dict[int, tuple[dict, tuple]] = {}


def _classes(names: Any) -> frozenset | None:
    """The classes ``type`` allows; None: any value (a name _is_type does not know)."""
    names = [names] if isinstance(names, str) else names
    if any(n not in _EXACT for n in names):
        return None
    return frozenset(c for n in names for c in _EXACT[n])


def _compiled(schema: dict) -> tuple:
    """(additional keys refused, key -> rule, required keys) of a schema, worked out once.
    A rule is None (give up: a keyword beyond type/items), or (allowed classes or None for
    any, item classes or None to give up on a list or _FREE)."""
    entry = _COMPILED.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    rules: dict[str, Any] = {}
    for key, sub in schema.get("properties", {}).items():
        if set(sub) - {"type", "description", "items", "title"}:
            rules[key] = None
            continue
        classes = _classes(sub["type"]) if sub.get("type") is not None else None
        items = sub.get("items")
        if items is None:
            item_rule: Any = _FREE
        elif set(items) - {"type"} or not isinstance(items.get("type"), str):
            item_rule = None
        else:
            item_rule = _classes(items["type"]) or _FREE
        rules[key] = (classes, item_rule)
    compiled = (
        schema.get("additionalProperties") is False,
        rules,
        tuple(schema.get("required", ())),
    )
    _COMPILED[id(schema)] = (schema, compiled)
    return compiled


def check_schema(
    flow: LocalFlow, parsed: ParsedYaml, schema: dict, *, bundled: bool = True
) -> list[Diagnostic]:
    """jsonschema errors, each pointed at the line of the offending node."""
    if bundled and _fast_schema_ok(flow.data, schema):
        return []
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema)
    out = []
    errors = sorted(validator.iter_errors(flow.data), key=lambda e: list(map(str, e.path)))
    for err in errors:
        path = tuple(err.path)
        if bundled and err.validator == "required":
            continue  # reported by check_flow with a better message
        if bundled and not path and err.validator == "type":
            continue  # not-mapping, reported by check_flow
        if err.validator == "additionalProperties" and isinstance(flow.data, dict):
            known = schema.get("properties", {})
            for key in flow.data:
                if key not in known and value_at(flow.data, path) is flow.data:
                    out.append(
                        _diag(
                            flow,
                            parsed,
                            path + (key,),
                            "unknown-key",
                            f"unknown top-level key '{key}': Kestra rejects unknown "
                            'properties ("Unrecognized field"); remove it or fix its '
                            "spelling" + did_you_mean(str(key), known),
                            key=True,
                        )
                    )
            if path:
                out.append(
                    _diag(flow, parsed, path, "schema", f"{format_path(path)}: {err.message}")
                )
            continue
        if bundled and path and path[0] in ("id", "namespace"):
            continue  # type, pattern and length reported by check_flow
        where = format_path(path) or "the flow"
        if err.context:  # oneOf/anyOf: the most relevant sub-error is more useful
            best = jsonschema.exceptions.best_match(err.context)
            path = tuple(best.path) or path
            where = format_path(path) or where
            message = best.message
        elif err.validator == "type":
            want = err.validator_value
            want = " or ".join(want) if isinstance(want, list) else want
            want = want.replace("array", "a list").replace("object", "a mapping")
            message = f"must be {want}, not {_json_kind(err.instance)}"
        else:
            message = err.message
        out.append(
            _diag(
                flow,
                parsed,
                path,
                "schema",
                f"{where}: {message} (checked against "
                f"{'the bundled flow schema' if bundled else 'the given flow schema'})",
            )
        )
    return out


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else "a string"


# ---------------------------------------------------------------------------------------------
# --schema PATH_OR_URL: a user-given full flow schema, cached on disk


def schema_cache_dir(env: dict | None = None) -> Path | None:
    """Where downloaded schemas are kept; None with no home directory (then nothing is kept:
    never a cache in the working directory)."""
    root = user_cache_dir(env)
    return root / "schemas" if root is not None else None


def resolve_schema(
    spec: str,
    *,
    refresh: bool = False,
    settings: Any = None,
    env: dict | None = None,
) -> dict:
    """A schema from a file, or from a URL (Kestra serves its full flow schema at
    ``GET /api/v1/plugins/schemas/flow``, tests/data/openapi/kestra-2.0.yml ``getSchemasFromType``).

    A URL is downloaded once and kept in the user cache dir (``cachedir.py``), written
    atomically (temp file + rename) so parallel hook runs never see half a file. A cached copy
    is used without any network access unless ``refresh``.

    The download goes through the client's transport (the timeout as a deadline, the reply size
    limit, redirects only within the URL's origin, the TLS settings of ``settings``). The
    server's credentials go only to the server itself: a schema URL on another origin is fetched
    without them (they are not that host's to see).
    """
    import hashlib
    from urllib.parse import urlsplit

    from ..errors import InputError

    if not spec.startswith(("http://", "https://")):
        try:
            return load_schema(spec)
        except OSError as e:
            raise InputError(f"{spec}: cannot read schema file: {e.strerror}") from None
        except ValueError as e:
            raise InputError(f"{spec}: not a JSON schema: {e}") from None
    where = schema_cache_dir(env)
    cache = where / (hashlib.sha256(spec.encode()).hexdigest() + ".json") if where else None
    # A cached copy another user could have written is not read (cachedir.written_by_us, the
    # result cache's rule): downloaded again, and replaced by our own.
    cached = read_own_file(cache) if cache is not None and not refresh else None
    if cached is not None:
        try:
            return _load_schema_text(cached.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError included
            pass  # a corrupt cache entry: download again
    from ..client.http import Transport
    from ..client.urls import origin_of

    parts = urlsplit(spec)
    options: dict[str, Any] = {}
    if settings is not None:
        options = {"timeout": settings.timeout, "verify": settings.verify}
        options["max_reply_mb"] = settings.max_reply_mb
        if settings.url and origin_of(settings.url) == origin_of(spec):
            options.update(
                username=settings.username, password=settings.password, token=settings.token
            )
    transport = Transport(f"{parts.scheme}://{parts.netloc}", **options)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        schema = transport.request("GET", path).json()
    except ValueError:
        raise InputError(f"{transport.origin}{parts.path} did not return JSON") from None
    if not isinstance(schema, dict):
        raise InputError(f"{transport.origin}{parts.path} did not return a JSON schema object")
    if cache is not None:
        with contextlib.suppress(OSError):  # no cache (read-only home...) only costs time
            _keep(cache, schema)
    return schema


def _keep(cache: Path, schema: dict) -> None:
    from ..atomic import write_atomic

    # kestra-sync's cache directory also holds the result cache (resultcache.py): only its
    # owner may read it, whichever of the two makes it first.
    cache.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(cache, json.dumps(schema).encode("utf-8"), private=True)
