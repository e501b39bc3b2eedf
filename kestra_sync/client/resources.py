"""Namespace files and KV pairs: the REST calls, mixed into ``KestraClient``.

Paths are ``/api/v1/{tenant}/namespaces/{namespace}/files…`` and ``…/kv/{key}``
(docs/kestra-api.md; Kestra ``NamespaceFileController`` and ``KVController``, 8ecd8337):
- a file is read with ``GET files?path=/a/b`` (octet-stream) and written with ``POST
  files?path=/a/b``, multipart, the bytes in the part named ``fileContent``; the server
  *extracts* an upload whose file name ends in ``.zip``, so the part's file name never does;
- ``GET files/export`` is a zip of every file (entry names without the leading ``/``, no
  directories): one request reads a whole namespace. Servers before 1.2 also put the
  namespace's flows in it as ``_flows/<id>.yml`` (mirror 58c1ca2d, Dec 2024): those are not
  namespace files (``/_flows`` is a forbidden path) and are skipped;
- a KV value is sent as JSON in a ``text/plain`` body: the server reads it as Ion, so a string
  goes quoted (``"true"`` stays a string, ``true`` is a boolean); the TTL is the ``ttl`` header,
  an ISO-8601 duration. GET answers ``{"type": "STRING"|..., "value": ...}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import posixpath
import re
import zipfile
from typing import Any

from urllib3.filepost import encode_multipart_formdata

from ..errors import (
    ApiError,
    IncompleteListingError,
    NotFoundError,
    PlanError,
    UnexpectedResponseError,
)
from .http import LIMIT_HINT, OCTET, tenant_path
from .wire import PagedListing, read_pages

FLOWS_IN_EXPORT = "_flows/"
# KVStore.KEY_VALIDATOR_PATTERN (kestra-io/kestra core/.../storages/kv/KVStore.java): a key
# from a listing must match it before it is put in a URL. `.` and `..` do not: as a path
# segment they would address the namespace (`DELETE …/kv/..` is `DELETE …/namespaces/ns/`).
KV_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")


def _finite(value: Any) -> bool:
    """No infinity or NaN anywhere in a JSON value (iterative: any depth the parser took)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def listed_path_problem(path: str) -> str | None:
    """Why a namespace-file path read from the server cannot be acted on, or None. Kestra's
    storages refuse a path holding `/..` or `../` (StorageInterface.parentTraversalGuard,
    kestra-io/kestra core/src/main/java/io/kestra/core/storages/StorageInterface.java at
    4b8612c3), so a real server never lists one; an empty or `.` segment or a backslash (a
    separator to some zip readers) would name another file than the one listed. A control
    character names the same file (the URL quotes it): such a name is kept, and every report
    escapes it (report/escape.py)."""
    parts = path.split("/")[1:]
    if not parts or any(p in ("", ".", "..") for p in parts):
        return "an empty, `.` or `..` path segment"
    if "/.." in path or "../" in path:
        return "a `..` that Kestra's storage refuses"
    if "\\" in path:
        return "a backslash"
    return None


class NamespaceResourcesMixin:
    """Methods for namespace files and the KV store (needs ``self.http`` and ``self.tenant``)."""

    http: Any
    tenant: str

    def _ns_path(self, namespace: str, *segments: str) -> str:
        return tenant_path(self.tenant, "namespaces", namespace, *segments)

    def _kv_path(self, namespace: str, key: str) -> str:
        """The URL of one key; a key Kestra would refuse never reaches one (a saved plan or a
        listing could carry `..`, which addresses the namespace itself)."""
        if not KV_KEY.fullmatch(key):
            raise PlanError(
                f"KV key {key!r} of {namespace} is not one Kestra accepts: it is never sent",
                hint="the listing or saved plan it came from was not made by a Kestra server",
            )
        return self._ns_path(namespace, "kv", key)

    # -- namespace files ---------------------------------------------------------------------

    def export_namespace_files(self, namespace: str) -> dict[str, bytes]:
        """``GET …/files/export`` -> {"/path": bytes} for every file of the namespace."""
        path = self._ns_path(namespace, "files", "export")
        resp = self.http.request("GET", path, accept=OCTET)
        try:
            archive = zipfile.ZipFile(io.BytesIO(resp.content))
        except zipfile.BadZipFile as exc:
            raise self.http.unexpected(
                "GET", path, resp, f"not a zip archive ({exc})", write=False
            ) from None
        out: dict[str, bytes] = {}
        # The sizes a zip announces are checked before anything is inflated, against the
        # transport's reply limit when it has one (a small reply must not unpack to gigabytes).
        limit = getattr(self.http, "max_reply_bytes", None)
        announced = sum(info.file_size for info in archive.infolist())
        if limit and announced > limit:
            # A size problem, not "is this a Kestra server?": the hint is the limit's.
            raise UnexpectedResponseError(
                f"GET {path}: the namespace files export from {self.http.origin} was refused: "
                f"it would unpack to {announced:,} bytes, more than the limit of "
                f"{limit / (1 << 20):g} MiB (--max-reply-mb)",
                status=resp.status_code,
                method="GET",
                path=path,
                hint=LIMIT_HINT,
            )
        with archive:
            for info in archive.infolist():
                if info.is_dir() or info.filename.startswith(FLOWS_IN_EXPORT):
                    continue
                name = "/" + info.filename.lstrip("/")
                why = listed_path_problem(name)
                if why or name in out:
                    raise self.http.unexpected(
                        "GET",
                        path,
                        resp,
                        f"zip entry {info.filename!r}: {why or 'listed twice'}",
                        write=False,
                    )
                try:
                    out[name] = archive.read(info)
                except (zipfile.BadZipFile, OSError) as exc:
                    raise self.http.unexpected(
                        "GET",
                        path,
                        resp,
                        f"zip entry {info.filename!r} unreadable ({exc})",
                        write=False,
                    ) from None
        return out

    def get_namespace_file(self, namespace: str, file_path: str) -> bytes:
        """``GET …/files?path=`` -> the bytes; NotFoundError when missing."""
        path = self._ns_path(namespace, "files")
        resp = self.http.request("GET", path, params={"path": file_path}, accept=OCTET)
        return resp.content

    def put_namespace_file(self, namespace: str, file_path: str, content: bytes) -> None:
        """``POST …/files?path=`` multipart ``fileContent``: creates or replaces the file."""
        path = self._ns_path(namespace, "files")
        name = posixpath.basename(file_path) or "file"
        if name.lower().endswith(".zip"):
            name += ".upload"  # a part named *.zip would be extracted, not stored
        body, content_type = encode_multipart_formdata(
            [("fileContent", (name, content, "application/octet-stream"))]
        )
        self.http.request(
            "POST", path, params={"path": file_path}, body=body, content_type=content_type
        )

    def delete_namespace_file(self, namespace: str, file_path: str) -> None:
        """``DELETE …/files?path=``: the file (or a directory, recursively). A missing file is
        not an error: what we wanted is that it is gone. A path that could name another file
        (or a directory above it) is never sent."""
        why = listed_path_problem(file_path)
        if why:
            raise PlanError(
                f"namespace file path {file_path!r} of {namespace}: {why}; it is never sent",
                hint="the listing or saved plan it came from was not made by a Kestra server",
            )
        path = self._ns_path(namespace, "files")
        with contextlib.suppress(NotFoundError):
            self.http.request("DELETE", path, params={"path": file_path})

    def list_namespace_directory(self, namespace: str, directory: str = "/") -> list[dict]:
        """``GET …/files/directory?path=``: the FileAttributes of a directory's children."""
        path = self._ns_path(namespace, "files", "directory")
        resp = self.http.request("GET", path, params={"path": directory})
        data = self.http.json("GET", path, resp, write=False)
        if not isinstance(data, list):
            raise self.http.unexpected("GET", path, resp, "expected a JSON list", write=False)
        return data

    def namespace_file_stats(self, namespace: str, file_path: str | None = None) -> dict:
        """``GET …/files/stats?path=``: FileAttributes (size, type, times) of one path."""
        path = self._ns_path(namespace, "files", "stats")
        params = {"path": file_path} if file_path else None
        resp = self.http.request("GET", path, params=params)
        data = self.http.json("GET", path, resp, write=False)
        if not isinstance(data, dict):
            raise self.http.unexpected("GET", path, resp, "expected a JSON object", write=False)
        return data

    # -- KV store ------------------------------------------------------------------------------

    def list_kv(self, namespace: str) -> list[dict]:
        """``GET …/namespaces/{ns}/kv``: one KVEntry (key, dates, expiration) per live key; no
        values. Kestra 2.0 (ca87a2762, docs/kestra-versions.md) no longer lists keys there (the path
        only takes a bulk DELETE): it lists them at ``GET /api/v1/{tenant}/kv``, paged, with
        ``filters[namespace][EQUALS]``. A 404 or 405 on the first path falls back to that."""
        path = self._ns_path(namespace, "kv")
        try:
            resp = self.http.request("GET", path)
        except ApiError as err:
            if err.status not in (404, 405):
                raise
            return self._list_all_keys(namespace)
        data = self.http.json("GET", path, resp, write=False)
        if not isinstance(data, list) or not all(
            isinstance(e, dict) and isinstance(e.get("key"), str) for e in data
        ):
            raise self.http.unexpected("GET", path, resp, "expected a list of keys", write=False)
        self._check_keys(path, resp, data)
        return data

    def _check_keys(self, path: str, resp: Any, entries: list[dict]) -> None:
        """Every listed key is one Kestra accepts, and is listed once: anything else is not a
        listing the plan may compare (or delete) against."""
        seen: set[str] = set()
        for entry in entries:
            key = entry["key"]
            if not KV_KEY.fullmatch(key):
                raise self.http.unexpected(
                    "GET", path, resp, f"the listing holds {key!r}, not a KV key", write=False
                )
            if key in seen:
                raise IncompleteListingError(
                    f"GET {path}: the server's list of KV keys holds {key!r} twice",
                    hint="keys were probably changed while kestra-sync read them; run it again",
                )
            seen.add(key)

    def _list_all_keys(self, namespace: str, page_size: int = 1000) -> list[dict]:
        """``GET /api/v1/{tenant}/kv`` (listAllKeys, Kestra 2.0), every page, this namespace's
        entries only (an entry naming another namespace is dropped, whatever the filter did).
        As for flows (KestraClient.search_flows), a list that cannot be proven complete is
        refused, never compared (client/wire.read_pages): a key missing from it would be
        created over the server's value or, in a managed namespace, left out of the deletes'
        checks."""
        path = tenant_path(self.tenant, "kv")

        def key_of(entry: dict) -> tuple[str, str] | None:
            listed_in = entry.get("namespace", namespace)
            key = entry.get("key")
            if not isinstance(key, str):
                return None
            return (listed_in if isinstance(listed_in, str) else repr(listed_in), key)

        listing = PagedListing(
            noun="keys",
            page_size=page_size,
            key_of=key_of,
            incomplete=self._kv_incomplete,
            twice=lambda entry: f"the key {entry['key']!r} was listed twice",
        )

        def params_of(page: int) -> list[tuple[str, str]]:
            return [
                ("page", str(page)),
                ("size", str(page_size)),
                ("filters[namespace][EQUALS]", namespace),
            ]

        pages = list(read_pages(self.http, path, params_of, listing))
        found = [
            e for results, _ in pages for e in results if e.get("namespace", namespace) == namespace
        ]
        self._check_keys(path, pages[-1][1], found)  # with the last page's answer
        return found

    @staticmethod
    def _kv_incomplete(why: str) -> IncompleteListingError:
        return IncompleteListingError(
            f"the server's list of KV keys is incomplete: {why}",
            hint="keys were probably changed while kestra-sync read them; run it again",
        )

    def get_kv(self, namespace: str, key: str) -> tuple[str, Any] | None:
        """``GET …/kv/{key}`` -> (type, value), or None when the key is missing or expired
        (404, or 410 "Resource has expired")."""
        path = self._kv_path(namespace, key)
        try:
            resp = self.http.request("GET", path)
        except NotFoundError:
            return None
        except ApiError as err:
            if err.status == 410:
                return None
            raise
        data = self.http.json("GET", path, resp, write=False)
        if not isinstance(data, dict) or "value" not in data:
            raise self.http.unexpected("GET", path, resp, "expected {type, value}", write=False)
        if not _finite(data["value"]):  # `1e400` parses as infinity: no JSON number
            raise self.http.unexpected(
                "GET", path, resp, "the value holds a number out of JSON's range", write=False
            )
        return str(data.get("type") or ""), data["value"]

    def put_kv(self, namespace: str, key: str, value: Any, ttl: str | None = None) -> None:
        """``PUT …/kv/{key}`` with the value as JSON text (see the module docstring)."""
        path = self._kv_path(namespace, key)
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        self.http.request(
            "PUT",
            path,
            body=body,
            content_type="text/plain",
            extra_headers={"ttl": ttl} if ttl else None,
        )

    def delete_kv(self, namespace: str, key: str) -> bool:
        """``DELETE …/kv/{key}`` -> whether the key existed (the body is ``true``/``false``)."""
        path = self._kv_path(namespace, key)
        resp = self.http.request("DELETE", path)
        return (resp.content or b"").strip() == b"true"

    def namespace_kv(self, namespace: str) -> dict[str, tuple[str, Any]]:
        """Every live key of the namespace with its (type, value): the listing, then one GET per
        key (the listing carries no values). A key that expires in between is left out."""
        out: dict[str, tuple[str, Any]] = {}
        for entry in self.list_kv(namespace):
            got = self.get_kv(namespace, entry["key"])
            if got is not None:
                out[entry["key"]] = got
        return out
