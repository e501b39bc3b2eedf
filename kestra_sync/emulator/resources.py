"""Namespace files and the KV store: their state (both), and the namespace-file endpoints.
The KV endpoints are in kvstore.py, the routing in resourceroutes.py (called from server.py).

Sources (each behaviour below names its origin):
- Kestra's OpenAPI (docs/kestra-api.md): ``/api/v1/{tenant}/namespaces/{namespace}/files``
  (GET ``path`` -> octet-stream, POST multipart field ``fileContent``, DELETE ``path``),
  ``/files/directory`` (GET list of FileAttributes, POST create), ``/files/export`` (zip),
  ``/files/stats`` (FileAttributes) and ``/kv/{key}`` (PUT text/plain, GET KvDetail, DELETE).
- kestra-io/kestra ``NamespaceFileController`` (develop, read via the crawled copy at
  0a46f3b4b06): forbidden ``/_flows`` paths, a ``.zip`` upload is extracted, names over 255
  characters refused, export entries are the paths without their leading ``/`` and hold no
  directories, DELETE prefixes a missing ``/`` and removes parents left empty.
- kestra-io/kestra ``StorageInterface.parentTraversalGuard`` (4b8612c3): a path holding ``../``
  or ``/..`` is refused (422) by every storage call.
- kestra-io/kestra ``KVController`` (develop copy 0104f3c3181) and ``InternalKVStore`` /
  ``KVStore`` / ``KVType`` (mirror 58c1ca2d, Dec 2024): the body of a PUT is read as Ion (JSON is
  a subset), the ``ttl`` header is an ISO-8601 duration, keys match
  ``[a-zA-Z0-9][a-zA-Z0-9._-]*``, GET answers ``{type, value}``, DELETE answers ``true|false``,
  expired keys are left out of listings and answer 410 on GET.
Error mapping (ErrorController): IllegalArgumentException -> 422 ``Illegal argument: ...``,
FileNotFoundException and NoSuchElementException -> 404 ``Not Found: ...``,
ResourceExpiredException -> 410 ``Resource has expired: ...``.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any, Literal, overload

from ..rules import knowledge as K
from . import rules
from .answers import Answer
from .state import write_json_atomically

FORBIDDEN = re.compile(r"/_flows(/.*)?$")  # NamespaceFileController.forbiddenPathPatterns
MAX_NAME = 255  # NamespaceFileController.MAX_FILE_NAME_LENGTH


def _millis() -> int:
    return int(time.time() * 1000)


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + (
        "Z"
    )


@dataclass
class StoredFile:
    content: bytes
    created: int = field(default_factory=_millis)
    modified: int = field(default_factory=_millis)


@dataclass
class StoredValue:
    value: Any
    kv_type: str
    expires: int | None = None  # epoch ms
    description: str | None = None
    created: int = field(default_factory=_millis)
    updated: int = field(default_factory=_millis)
    revision: int = 1


class ResourceStore:
    """Namespace files (path -> bytes, directories implied or explicit) and KV pairs, per
    tenant and namespace. With ``path`` (``--state FILE`` gives ``FILE.resources.json``) it is
    loaded at start and rewritten atomically after each write, like the flow store."""

    def __init__(self, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.files: dict[tuple[str, str], dict[str, StoredFile]] = {}
        self.dirs: dict[tuple[str, str], set[str]] = {}
        self.kv: dict[tuple[str, str], dict[str, StoredValue]] = {}
        if path is not None and path.exists():
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        for row in raw.get("files", []):
            content = base64.b64decode(row.pop("content"))
            key = (row.pop("tenant"), row.pop("namespace"))
            path = row.pop("path")
            self.files.setdefault(key, {})[path] = StoredFile(content, **row)
        for row in raw.get("dirs", []):
            self.dirs.setdefault((row["tenant"], row["namespace"]), set()).add(row["path"])
        for row in raw.get("kv", []):
            key = (row.pop("tenant"), row.pop("namespace"))
            name = row.pop("key")
            self.kv.setdefault(key, {})[name] = StoredValue(**row)

    def save(self) -> None:
        if self.path is None:
            return
        with self.lock:
            payload = {
                "files": [
                    {
                        "tenant": t,
                        "namespace": ns,
                        "path": p,
                        "content": base64.b64encode(f.content).decode("ascii"),
                        "created": f.created,
                        "modified": f.modified,
                    }
                    for (t, ns), table in self.files.items()
                    for p, f in table.items()
                ],
                "dirs": [
                    {"tenant": t, "namespace": ns, "path": p}
                    for (t, ns), paths in self.dirs.items()
                    for p in sorted(paths)
                ],
                "kv": [
                    {"tenant": t, "namespace": ns, "key": k, **asdict(v)}
                    for (t, ns), table in self.kv.items()
                    for k, v in table.items()
                ],
            }
            write_json_atomically(self.path, payload)

    def reset(self) -> None:
        with self.lock:
            self.files.clear()
            self.dirs.clear()
            self.kv.clear()
            self.save()

    def put_file(self, tenant: str, namespace: str, path: str, content: bytes) -> None:
        with self.lock:
            table = self.files.setdefault((tenant, namespace), {})
            old = table.get(path)
            table[path] = StoredFile(content, created=old.created if old else _millis())

    def all_dirs(self, tenant: str, namespace: str) -> set[str]:
        """Explicit directories plus every parent of a file, and the root."""
        out = {"/"} | self.dirs.get((tenant, namespace), set())
        for path in self.files.get((tenant, namespace), {}):
            parts = path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/" + "/".join(parts[:i]))
        return out


_CREATE_LOCK = threading.Lock()


def store_of(server: Any) -> ResourceStore:
    """The server's resource store, made on first use (server.py stays unaware of it); saved
    beside the flow store's state file when there is one."""
    with _CREATE_LOCK:
        if not hasattr(server, "resources"):
            state = getattr(server.store, "path", None)
            path = Path(str(state) + ".resources.json") if state else None
            server.resources = ResourceStore(path)
        return server.resources


def _store(handler: Any) -> ResourceStore:
    return store_of(handler.server)


# --------------------------------------------------------------------------- helpers


def _illegal(message: str) -> rules.Rejection:
    return rules.Rejection(422, "Illegal argument", f"Illegal argument: {message}")


def _not_found(message: str) -> rules.Rejection:
    return rules.Rejection(404, "Not Found", f"Not Found: {message}")


@overload
def _path_param(handler: Any, required: Literal[True]) -> str: ...
@overload
def _path_param(handler: Any, required: Literal[False]) -> str | None: ...
def _path_param(handler: Any, required: bool) -> str | None:
    raw = handler.param("path")
    if raw is None:
        if required:
            # UnsatisfiedQueryValueRouteException -> 400 (ErrorController at 8ecd8337).
            raise rules.Rejection(
                400, "Bad Request", "Bad Request: Required QueryValue [path] not specified"
            )
        return None
    if raw == "":
        return None if not required else "/"
    if handler.server.config.has(K.NSFILE_SPACE_AS_PLUS):
        # new URI(URLEncoder.encode(path)).getPath(): a space comes back as '+' (before 2.0).
        raw = raw.replace(" ", "+")
    path = raw if raw.startswith("/") else "/" + raw
    path = re.sub(r"/+", "/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    if handler.server.config.at_least("2.0") and ".." in path.replace("\\", "/").split("/"):
        # NamespaceFile.of refuses a `..` segment from kestra-io/kestra 8ac27db36 (2026-05-28,
        # 2.0; FileUtils.isParentTraversal). Whether 1.x patch releases got it is not known.
        raise _illegal(
            "File should be accessed with their full path and not using relative '..' path."
        )
    if FORBIDDEN.match(path):
        raise _illegal(f"Forbidden path: {path}")
    _traversal_guard(path)
    return path


def _traversal_guard(path: str) -> None:
    """StorageInterface.parentTraversalGuard (kestra-io/kestra core/src/main/java/io/kestra/
    core/storages/StorageInterface.java at 4b8612c3), run by every storage read, write and
    delete: a path holding `../` or `/..` is an IllegalArgumentException (422)."""
    if "../" in path or "/.." in path or path == "..":
        raise _illegal(
            "File should be accessed with their full path and not using relative '..' path."
        )


def _attributes(name: str, is_dir: bool, size: int, created: int, modified: int) -> dict:
    # FileAttributes: fileName, lastModifiedTime, creationTime, type (File|Directory), size,
    # metadata (openapi components.schemas.FileAttributes).
    return {
        "fileName": name,
        "lastModifiedTime": modified,
        "creationTime": created,
        "type": "Directory" if is_dir else "File",
        "size": size,
        "metadata": {},
    }


def _octet(handler: Any, data: bytes, headers: dict[str, str] | None = None) -> Any:
    return Answer(
        200,
        None,
        data,
        "application/octet-stream",
        {"Cache-Control": "no-cache", **(headers or {})},
    )


def _json(payload: Any) -> Any:
    return Answer(200, None, json.dumps(payload).encode("utf-8"), "application/json")


def _empty() -> Any:
    return Answer(200, None, b"", None)


# --------------------------------------------------------------------------- namespace files


def get_file(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    path = _path_param(handler, required=True)
    store = _store(handler)
    with store.lock:
        stored = store.files.get((tenant, namespace), {}).get(path)
    if stored is None:
        # Namespace.getFileContent throws FileNotFoundException (the message text is inferred).
        raise _not_found(f"File not found: {path}")
    return _octet(handler, stored.content)


def _multipart_file(handler: Any, body: bytes) -> tuple[str, bytes]:
    ctype = handler.headers.get("Content-Type") or ""
    if not ctype.lower().startswith("multipart/form-data"):
        # consumes = MULTIPART_FORM_DATA: Micronaut answers 415 (inferred, as for flows).
        raise rules.Rejection(
            415,
            "Unsupported Media Type",
            "Unsupported Media Type",
            [
                {
                    "message": f"Content Type [{ctype.split(';')[0] or 'null'}] not allowed. "
                    "Allowed types: [multipart/form-data]"
                }
            ],
        )
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "fileContent":
            filename = part.get_filename() or ""
            payload = part.get_payload(decode=True)  # None for a part that is multipart itself
            return filename, payload if isinstance(payload, bytes) else b""
    # @Part CompletedFileUpload fileContent missing: Micronaut's unsatisfied route (inferred).
    raise rules.Rejection(
        400, "Bad Request", "Bad Request: Required Part [fileContent] not specified"
    )


def _check_names(path: str) -> None:
    for component in path.strip("/").split("/"):
        if len(component) > MAX_NAME:
            raise _illegal(
                f"A file or folder name exceeds the maximum length of {MAX_NAME} characters."
            )


def post_file(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    path = _path_param(handler, required=True)
    filename, content = _multipart_file(handler, handler.body)
    store = _store(handler)
    if filename.lower().endswith(".zip"):
        # innerCreateNamespaceFile: a .zip upload is extracted at the root; `path` is ignored.
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                entries = [
                    (i.filename, archive.read(i)) for i in archive.infolist() if not i.is_dir()
                ]
        except zipfile.BadZipFile as err:
            raise rules.Rejection(
                500, "Internal server error", f"Internal server error: {err}"
            ) from None
        for name, data in entries:
            target = "/" + name.lstrip("/")
            if FORBIDDEN.match(target):
                continue  # _flows/ entries import flows on a real server (KNOWN_GAPS)
            _traversal_guard(target)
            _check_names(target)
            store.put_file(tenant, namespace, target, data)
        store.save()
        return _empty()
    _check_names(path)
    with store.lock:
        if path in store.all_dirs(tenant, namespace):
            # Writing a file over a directory: the storage refuses (inferred status and text).
            raise _illegal(f"Cannot write file {path}: a directory exists at that path")
        store.put_file(tenant, namespace, path, content)
        store.save()
    return _empty()


def delete_file(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    path = _path_param(handler, required=True)
    store = _store(handler)
    with store.lock:
        files = store.files.get((tenant, namespace), {})
        dirs = store.dirs.setdefault((tenant, namespace), set())
        prefix = path.rstrip("/") + "/"
        doomed = [f for f in files if f == path or f.startswith(prefix)]
        for f in doomed:
            del files[f]
        for d in [d for d in dirs if d == path or d.startswith(prefix)]:
            dirs.discard(d)
        store.save()
        # Deleting a missing path raises nothing in Namespace.delete (inferred: 200, no body).
    return _empty()


def list_directory(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    path = _path_param(handler, required=False) or "/"
    store = _store(handler)
    with store.lock:
        dirs = store.all_dirs(tenant, namespace)
        if path not in dirs:
            raise _not_found(f"Directory not found: {path}")
        base = "" if path == "/" else path
        out = []
        for d in sorted(dirs):
            if d != "/" and d.rsplit("/", 1)[0] == base:
                out.append(_attributes(d.rsplit("/", 1)[1], True, 0, 0, 0))
        for f, stored in sorted(store.files.get((tenant, namespace), {}).items()):
            if f.rsplit("/", 1)[0] == base:
                out.append(
                    _attributes(
                        f.rsplit("/", 1)[1],
                        False,
                        len(stored.content),
                        stored.created,
                        stored.modified,
                    )
                )
    return _json(out)


def create_directory(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    path = _path_param(handler, required=False) or "/"
    store = _store(handler)
    with store.lock:
        store.dirs.setdefault((tenant, namespace), set()).add(path)
        store.save()
    return _empty()


def export_files(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    store = _store(handler)
    with store.lock:
        files = sorted(store.files.get((tenant, namespace), {}).items())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, stored in files:
            archive.writestr(path[1:], stored.content)  # "remove leading slash"
    return _octet(
        handler,
        buf.getvalue(),
        {"Content-Disposition": f'attachment; filename="{namespace}_files.zip"'},
    )


def _dir_name(handler: Any, path: str) -> str:
    """A directory's fileName. The root's is that of the storage folder `_files` it maps to:
    NamespaceFileControllerTest#namespaceRootGetFileMetadatasWithoutPreCreation (kestra-io/kestra
    534b7f4ec, 2025-04-16, after the 0.22 cut: 0.22 keeps the emulator's former empty name)."""
    if path != "/":
        return path.rsplit("/", 1)[1]
    return "_files" if handler.server.config.at_least("1.0") else ""


def stats(handler: Any, tenant: str, namespace: str, p: dict) -> Any:
    path = _path_param(handler, required=False) or "/"
    store = _store(handler)
    with store.lock:
        stored = store.files.get((tenant, namespace), {}).get(path)
        if stored is not None:
            name = path.rsplit("/", 1)[1]
            return _json(
                _attributes(name, False, len(stored.content), stored.created, stored.modified)
            )
        if path in store.all_dirs(tenant, namespace):
            return _json(_attributes(_dir_name(handler, path), True, 0, 0, 0))
    raise _not_found(f"File not found: {path}")
