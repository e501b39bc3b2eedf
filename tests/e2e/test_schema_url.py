"""`validate --schema URL` downloads through the client's transport: the server's credentials
go to the server only, the reply size limit and the same-origin redirect rule hold, and a
failure is a one-line error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.hostile import HostileServer

# A schema that refuses every flow: a 'tasks' list is not an integer.
STRICT = {"type": "object", "properties": {"tasks": {"type": "integer"}}}
FLOW = "id: a\nnamespace: company\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"


def _schema_server(seen: list):
    """Serves STRICT at any path and records the Authorization header of each request."""

    def answer(method: str, path: str, body: bytes):
        def write(handler) -> None:
            seen.append(handler.headers.get("Authorization"))
            data = json.dumps(STRICT).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)

        return write

    return HostileServer(answer)


def _project(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "a.yml").write_text(FLOW)
    return tmp_path


def _env(server: str, cache: Path) -> dict[str, str]:
    return {
        "KESTRA_URL": server,
        "KESTRA_USERNAME": "admin@kestra.io",
        "KESTRA_PASSWORD": "s3cret-pass",
        "KESTRA_SYNC_CACHE_DIR": str(cache),
    }


def test_a_schema_on_another_host_is_fetched_without_the_servers_credentials(tmp_path):
    seen: list = []
    with _schema_server(seen) as other:
        env = _env("http://127.0.0.1:1", tmp_path / "cache")  # the Kestra server: elsewhere
        r = run_cli(
            "validate", "--schema", f"{other.url}/schema.json", cwd=_project(tmp_path), env=env
        )
    assert seen == [None], "no Authorization header went to a host that is not the server"
    assert r.returncode == 1 and "must be integer" in r.stdout, r.stdout + r.stderr


def test_a_schema_on_the_server_itself_is_fetched_with_its_credentials(tmp_path):
    seen: list = []
    with _schema_server(seen) as server:
        env = _env(server.url, tmp_path / "cache")
        url = f"{server.url}/api/v1/plugins/schemas/flow"
        r = run_cli("validate", "--schema", url, cwd=_project(tmp_path), env=env)
    assert len(seen) == 1 and seen[0].startswith("Basic "), seen
    assert r.returncode == 1 and "must be integer" in r.stdout, r.stdout + r.stderr


def test_a_schema_reply_over_the_size_limit_is_refused(tmp_path):
    def answer(method, path, body):
        return (
            200,
            {"Content-Type": "application/json"},
            b'{"type": "object"' + b" " * 3_000_000 + b"}",
        )

    with HostileServer(answer) as server:
        env = {**_env(server.url, tmp_path / "cache"), "KESTRA_MAX_REPLY_MB": "1"}
        r = run_cli("validate", "--schema", f"{server.url}/s.json", cwd=_project(tmp_path), env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "--max-reply-mb" in r.stderr, r.stderr
    assert not list((tmp_path / "cache").rglob("*.json")), "nothing cached"


def test_a_schema_redirect_to_another_origin_is_not_followed(tmp_path):
    seen: list = []
    with _schema_server(seen) as elsewhere:

        def answer(method, path, body):
            return 302, {"Location": f"{elsewhere.url}/schema.json"}, b""

        with HostileServer(answer) as server:
            env = _env(server.url, tmp_path / "cache")
            r = run_cli(
                "validate", "--schema", f"{server.url}/s.json", cwd=_project(tmp_path), env=env
            )
    assert seen == [], "the credentials' server redirected; the other origin was never asked"
    assert r.returncode not in (0, 3) and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("error:"), r.stderr


def test_a_cache_directory_that_cannot_be_made_only_costs_the_download(tmp_path):
    seen: list = []
    blocker = tmp_path / "a-file"
    blocker.write_text("no directory can be made under a file, even by root")
    with _schema_server(seen) as server:
        env = _env(server.url, blocker / "cache")
        url = f"{server.url}/api/v1/plugins/schemas/flow"
        first = run_cli("validate", "--schema", url, cwd=_project(tmp_path), env=env)
        again = run_cli("validate", "--schema", url, cwd=tmp_path, env=env)
    assert first.returncode == again.returncode == 1, first.stderr
    assert "must be integer" in first.stdout and first.stdout == again.stdout
    assert len(seen) == 2, "nothing could be kept, so each run downloads it"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "flows"]


def _plant(cache: Path, schema: dict, mode: int) -> Path:
    """Replace the one cached schema by ``schema``, with ``mode``."""
    (cached,) = (cache / "schemas").iterdir()
    cached.write_text(json.dumps(schema))
    cached.chmod(mode)
    return cached


def test_a_cached_schema_someone_else_could_have_written_is_downloaded_again(tmp_path):
    """The result cache refuses a file another user may write; the schema cache read it, so
    anyone who can write a shared KESTRA_SYNC_CACHE_DIR could plant a schema that lets every
    flow pass `validate --schema URL`. A group- or world-writable cached schema is not read."""
    seen: list = []
    with _schema_server(seen) as server:
        env = _env(server.url, tmp_path / "cache")
        url = f"{server.url}/api/v1/plugins/schemas/flow"
        first = run_cli("validate", "--schema", url, cwd=_project(tmp_path), env=env)
        assert first.returncode == 1 and "must be integer" in first.stdout, first.stderr
        for mode in (0o664, 0o646):
            _plant(tmp_path / "cache", {}, mode)  # `{}` lets every flow pass
            again = run_cli("validate", "--schema", url, cwd=tmp_path, env=env)
            assert again.returncode == 1 and "must be integer" in again.stdout, oct(mode)
        kept = run_cli("validate", "--schema", url, cwd=tmp_path, env=env)
    assert kept.returncode == 1 and "must be integer" in kept.stdout
    assert len(seen) == 3, "downloaded first and after each planted file, then read from cache"


def test_a_cached_schema_another_user_owns_is_not_read(tmp_path, monkeypatch):
    """Owner check as resultcache's: as root the file is given away; otherwise the uid the
    process runs as is made another one."""
    import os

    import responses

    from kestra_sync.rules.schemacheck import resolve_schema, schema_cache_dir

    env = {"KESTRA_SYNC_CACHE_DIR": str(tmp_path / "cache")}
    url = "http://127.0.0.1:1/api/v1/plugins/schemas/flow"
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, url, json=STRICT)
        assert resolve_schema(url, env=env) == STRICT
    (cached,) = schema_cache_dir(env).iterdir()
    cached.write_text(json.dumps({"planted": True}))
    if os.geteuid() == 0:
        os.chown(cached, 12345, -1)
    else:
        monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 1)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, url, json=STRICT)
        assert resolve_schema(url, env=env) == STRICT  # downloaded again, not the planted one
        assert len(rsps.calls) == 1
