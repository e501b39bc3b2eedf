"""The Enterprise kinds' offline rules (apps, namespace.yml), what a namespace write keeps, the
order apply writes them in, and the check of secrets' environment variables before writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from kestra_sync.applying.apply import check_before_writes, write_order
from kestra_sync.errors import InputError
from kestra_sync.kinds import KINDS
from kestra_sync.kinds.apps import check_app
from kestra_sync.kinds.namespaces import from_server, to_server
from kestra_sync.models import FlowRef
from kestra_sync.planning.plan import CREATE, UPDATE, Change
from kestra_sync.planning.targeting import parse_targets
from kestra_sync.settings.config import Settings

NS = "company.team"
APP = {
    "id": "request",
    "namespace": NS,
    "type": "io.kestra.plugin.ee.apps.Execution",
    "displayName": "Request",
    "flowId": "hello",
}


def messages(found) -> list[str]:
    return [message for message, _ in found]


def test_an_app_is_checked_against_the_model_and_its_folder():
    assert check_app(APP, NS) == []
    assert messages(check_app({**APP, "flowId": None}, NS)) == [
        "an Execution app needs `flowId`, the id of the flow it runs"
    ]
    assert messages(check_app({**APP, "id": "a.b"}, NS)) == [
        "id 'a.b': an app id holds letters, digits, '_' and '-'"
    ]
    (moved,) = messages(check_app(APP, "company.other"))
    assert "is not 'company.other', the namespace of the folder" in moved
    assert messages(check_app({k: v for k, v in APP.items() if k != "type"}, NS)) == [
        "`type` is required (text)"
    ]


def scan(tmp_path: Path, text: str, version: str | None = None):
    folder = tmp_path / "flows" / "company" / "team"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "namespace.yml").write_text(text)
    settings = Settings(directory=tmp_path / "flows", kestra_version=version)
    return KINDS["namespace"].scan(settings), KINDS["secret"].scan(settings)


def test_namespace_settings_follow_the_target_version(tmp_path):
    text = "pluginDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    values: {level: INFO}\n"
    settings, _ = scan(tmp_path, text, "2.0")
    assert [(d.line, d.message) for d in settings.diagnostics] == [
        (1, "Kestra 2.0 keeps no pluginDefaults on a namespace (use defaultWorkerSelector)")
    ]
    settings, _ = scan(tmp_path, text, "1.3")
    assert settings.diagnostics == []
    assert settings.items[0].payload["pluginDefaults"][0]["values"] == {"level": "INFO"}
    settings, _ = scan(tmp_path, "defaultWorkerSelector: {tags: [gpu]}\n", "1.3")
    assert [d.message for d in settings.diagnostics] == ["Kestra 1.3 has no defaultWorkerSelector"]


def test_a_file_with_only_secrets_leaves_the_settings_alone(tmp_path):
    settings, secrets = scan(tmp_path, "secrets:\n  - {key: DB_PASSWORD, env: PG_PASSWORD}\n")
    assert settings.items == [] and settings.namespaces == set()
    assert [(i.ref.id, i.payload) for i in secrets.items] == [
        ("DB_PASSWORD", {"env": "PG_PASSWORD", "resend": False})
    ]
    assert secrets.deletable == set()  # never deleted, even with --delete


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{key: A, env: X}\n  - {key: A, env: Y}", "secret 'A' is listed twice"),
        ("{key: A, env: 1X}", "secret 'A': `env` must name an environment variable"),
        ("{key: A, env: X, resend: sometimes}", "secret 'A': `resend` is `missing`"),
    ],
)
def test_a_bad_secret_entry_is_refused(tmp_path, entry, message):
    settings, _ = scan(tmp_path, f"secrets:\n  - {entry}\n")
    (found,) = settings.diagnostics
    assert found.message.startswith(message)


def test_a_namespace_write_keeps_what_namespace_yml_does_not_manage():
    current = {
        "id": NS,
        "deleted": False,
        "description": "old",
        "storageType": "s3",
        "storageConfiguration": {"bucket": "b"},
        "allowedNamespaces": [{"namespace": "x"}],
    }
    body = to_server(current, NS, {"variables": {"a": 1}})
    assert body == {
        "id": NS,
        "deleted": False,
        "storageType": "s3",
        "storageConfiguration": {"bucket": "b"},
        "variables": {"a": 1},
    }
    assert from_server(current) == {"description": "old", "allowedNamespaces": ["x"]}


def change(kind: str, ident: str, action: str = CREATE, payload=None) -> Change:
    return Change(action, FlowRef("main", NS, ident, kind), payload=payload)


def test_apps_are_written_after_their_namespace_flows_and_settings_before():
    flow, app = change("flow", "hello"), change("app", "request")
    settings, secret = change("namespace", "settings"), change("secret", "K", UPDATE)
    deps = write_order([flow, app, settings, secret])
    assert deps[app.ref] == {flow.ref, settings.ref, secret.ref}
    assert deps[flow.ref] == {settings.ref, secret.ref}


def test_secrets_missing_from_the_environment_stop_the_apply_before_any_write(monkeypatch):
    monkeypatch.setenv("SET_ONE", "value")
    monkeypatch.setenv("EMPTY_ONE", "")
    monkeypatch.delenv("UNSET_ONE", raising=False)
    payload = {"env": "SET_ONE", "resend": False}
    check_before_writes([change("secret", "A", payload=payload)])
    with pytest.raises(InputError) as err:
        check_before_writes(
            [
                change("secret", "A", payload=payload),
                change("secret", "B", payload={"env": "EMPTY_ONE", "resend": False}),
                change("secret", "C", payload={"env": "UNSET_ONE", "resend": True}),
            ]
        )
    assert err.value.message == (
        "missing from the environment: $EMPTY_ONE (secret B of company.team), $UNSET_ONE "
        "(secret C of company.team); nothing was applied"
    )


def test_targets_name_the_enterprise_kinds():
    found = parse_targets([f"app:{NS}/request", f"namespace:{NS}/settings", f"secret:{NS}/K"])
    assert found == [
        f"app:{NS}/request",
        f"namespace:{NS}/settings",
        f"secret:{NS}/K",
    ]


def test_an_app_edited_on_the_server_is_drift_written_back_byte_for_byte():
    # pull --branch: an app's file holds the app alone, so the server's YAML goes back to git
    # as it is; a namespace.yml (settings beside secrets) is reported, never written.
    from kestra_sync.planning.plan import Plan
    from kestra_sync.pull.drift import drift_of

    ref = FlowRef("main", "company.team", "form", "app")
    change = Change(
        UPDATE,
        ref,
        path="flows/company/team/_apps/form.yml",
        payload="id: form\n# git\n",
        server_payload="id: form\n# edited in the UI\n",
    )
    (item,) = drift_of(Plan(changes=[change])).items
    assert item.content == b"id: form\n# edited in the UI\n" and item.note == ""
