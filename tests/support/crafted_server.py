"""A small hostile Kestra on 127.0.0.1: it answers the two listing requests kestra-sync makes
per namespace (``GET .../flows/search`` and ``GET .../flows/export/by-query``) with flows the
test crafts (and, for pull, an empty namespace-files export and KV listing, and a 404 for
flow tests, as OSS answers), ids and namespaces that a real Kestra would never accept included, and refuses
everything else with a 500 (so a test sees any write attempt)."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class _Server(ThreadingHTTPServer):
    # An apply opens --parallelism connections at once: socketserver's listen queue of 5
    # overflows and the kernel drops some of them (the emulator's fix, emulator/server.py).
    request_queue_size = 128


class CraftedKestra:
    def __init__(self, flows: list[dict], namespaces: list[str] | None = None):
        """``flows``: dicts with ``namespace``, ``id``, ``source`` (and optionally ``revision``);
        ``namespaces``: what ``GET .../flows/distinct-namespaces`` answers (default: a 500)."""
        self.flows = flows
        self.namespaces = namespaces
        self.requests: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = urlsplit(self.path).path
                outer.requests.append((self.command, path))
                if self.command == "GET" and path.endswith("/flows/search"):
                    body = json.dumps(outer.search_reply()).encode()
                    kind = "application/json"
                    status = 200
                elif self.command == "GET" and path.endswith("/flows/export/by-query"):
                    body, kind, status = outer.export_reply(), "application/octet-stream", 200
                elif self.command == "GET" and path.endswith("/files/export"):
                    # A namespace without namespace files (pull reads them too).
                    body, kind, status = _empty_zip(), "application/octet-stream", 200
                elif (
                    self.command == "GET"
                    and path.endswith("/flows/distinct-namespaces")
                    and outer.namespaces is not None
                ):
                    body, kind, status = (
                        json.dumps(outer.namespaces).encode(),
                        "application/json",
                        200,
                    )
                elif self.command == "GET" and path.endswith("/kv"):
                    body, kind, status = b"[]", "application/json", 200  # and no KV pairs
                elif self.command == "GET" and "/tests/" in path:
                    # An OSS server: no flow tests API (pull asks for a namespace's suites).
                    body, kind, status = b'{"message":"Not Found"}', "application/json", 404
                else:
                    body, kind, status = b'{"message":"not in this test"}', "application/json", 500
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def search_reply(self) -> dict:
        results = [
            {
                "id": f["id"],
                "namespace": f["namespace"],
                "revision": f.get("revision", 1),
                "tenantId": "main",
                "deleted": False,
                "disabled": False,
            }
            for f in self.flows
        ]
        return {"results": results, "total": len(results)}

    def export_reply(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for n, f in enumerate(self.flows):
                archive.writestr(f"entry-{n}.yml", f["source"].encode("utf-8"))
        return buffer.getvalue()

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def __enter__(self) -> CraftedKestra:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def crafted_flow(namespace: str, flow_id: str) -> dict:
    """A flow whose source carries the same (possibly hostile) namespace and id, as the export
    of a server that accepted them would."""
    source = (
        f"id: {json.dumps(flow_id)}\nnamespace: {json.dumps(namespace)}\ntasks:\n"
        "  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: pwned\n"
    )
    return {"namespace": namespace, "id": flow_id, "source": source}


def _empty_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w"):
        pass
    return buf.getvalue()
