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
import posixpath
import zipfile
from typing import Any

from urllib3.filepost import encode_multipart_formdata

from ..errors import ApiError, NotFoundError, UnexpectedResponseError
from .http import LIMIT_HINT, OCTET, tenant_path

FLOWS_IN_EXPORT = "_flows/"


class NamespaceResourcesMixin:
    """Methods for namespace files and the KV store (needs ``self.http`` and ``self.tenant``)."""

    http: Any
    tenant: str

    def _ns_path(self, namespace: str, *segments: str) -> str:
        return tenant_path(self.tenant, "namespaces", namespace, *segments)

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
                try:
                    out["/" + info.filename.lstrip("/")] = archive.read(info)
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
        not an error: what we wanted is that it is gone."""
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
        return data

    def _list_all_keys(self, namespace: str, page_size: int = 1000) -> list[dict]:
        """``GET /api/v1/{tenant}/kv`` (listAllKeys, Kestra 2.0), every page, this namespace's
        entries only (an entry naming another namespace is dropped, whatever the filter did)."""
        path = tenant_path(self.tenant, "kv")
        found: list[dict] = []
        page = 1
        while True:
            params = [
                ("page", str(page)),
                ("size", str(page_size)),
                ("filters[namespace][EQUALS]", namespace),
            ]
            resp = self.http.request("GET", path, params=params)
            data = self.http.json("GET", path, resp, write=False)
            results = data.get("results") if isinstance(data, dict) else None
            if not isinstance(results, list) or not all(
                isinstance(e, dict) and isinstance(e.get("key"), str) for e in results
            ):
                raise self.http.unexpected(
                    "GET", path, resp, "expected a page of keys {results, total}", write=False
                )
            found += [e for e in results if e.get("namespace", namespace) == namespace]
            total = data.get("total")
            if not results or not isinstance(total, int) or page * page_size >= total:
                return found
            page += 1

    def get_kv(self, namespace: str, key: str) -> tuple[str, Any] | None:
        """``GET …/kv/{key}`` -> (type, value), or None when the key is missing or expired
        (404, or 410 "Resource has expired")."""
        path = self._ns_path(namespace, "kv", key)
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
        return str(data.get("type") or ""), data["value"]

    def put_kv(self, namespace: str, key: str, value: Any, ttl: str | None = None) -> None:
        """``PUT …/kv/{key}`` with the value as JSON text (see the module docstring)."""
        path = self._ns_path(namespace, "kv", key)
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
        path = self._ns_path(namespace, "kv", key)
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
