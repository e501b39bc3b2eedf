"""validate_server: map /flows/validate results back to files and lines (fake client; the real
client lives in kestra_sync.client). Shapes from docs/kestra-api.md."""

from dataclasses import dataclass, field
from pathlib import Path

from kestra_sync.rules.servercheck import validate_server
from kestra_sync.source.flowscan import load_flow


@dataclass
class Result:  # the shape of kestra_sync.client.ValidationResult
    index: int
    namespace: str | None = None
    flow: str | None = None
    constraints: str | None = None
    warnings: list = field(default_factory=list)
    infos: list = field(default_factory=list)
    deprecation_paths: list = field(default_factory=list)
    outdated: bool = False
    filename: str | None = None


class FakeClient:
    def __init__(self, results):
        self.results = results
        self.sent = None

    def validate_flows(self, sources):
        self.sent = sources
        return self.results


SRC = """id: etl
namespace: company.team
revision: 3
tasks:
  - id: extract
    type: io.kestra.plugin.core.http.Download
  - id: log
    type: io.kestra.plugin.core.log.Log
"""


def flows(tmp_path: Path, n=2):
    out = []
    for i in range(n):
        p = tmp_path / f"f{i}.yml"
        p.write_bytes(SRC.replace("etl", f"etl{i}").encode())
        out.append(load_flow(p)[0])
    return out


def test_valid_flows_give_nothing_and_sources_are_sent_verbatim(tmp_path):
    fs = flows(tmp_path)
    client = FakeClient([Result(0, "company.team", "etl0"), Result(1, "company.team", "etl1")])
    assert validate_server(fs, client) == []
    assert client.sent == [f.source for f in fs]


def test_constraints_map_to_files_and_lines(tmp_path):
    fs = flows(tmp_path)
    client = FakeClient(
        [
            Result(0, "company.team", "etl0"),
            Result(
                1,
                "company.team",
                "etl1",
                constraints="Validation error: tasks[log].message: must not be null\n"
                "tasks[0].uri: must not be null\n",
            ),
        ]
    )
    diags = validate_server(fs, client)
    assert [(Path(d.path).name, d.line, d.code, d.severity) for d in diags] == [
        ("f1.yml", 7, "server", "error"),  # tasks[log] -> index 1 (Kestra swaps indexes for ids)
        ("f1.yml", 5, "server", "error"),
    ]
    assert diags[0].message.startswith("server: tasks[log].message: must not be null")


def test_yaml_error_uses_the_line_the_server_gives(tmp_path):
    fs = flows(tmp_path, 1)
    client = FakeClient(
        [
            Result(
                0,
                constraints="Illegal flow source: YAML syntax error: Invalid "
                "structure. Check indentation and ensure all fields are properly "
                "formatted. (at line 4)",
            )
        ]
    )
    (d,) = validate_server(fs, client)
    assert (d.line, d.code) == (4, "server")


def test_warnings_infos_deprecations_and_outdated_are_warnings(tmp_path):
    fs = flows(tmp_path, 1)
    client = FakeClient(
        [
            Result(
                0,
                "company.team",
                "etl0",
                warnings=["The flow has no trigger"],
                infos=["io.kestra.core.tasks.log.Log is replaced by io.kestra.plugin.core.log.Log"],
                deprecation_paths=["tasks[1]"],
                outdated=True,
            )
        ]
    )
    diags = validate_server(fs, client)
    assert {d.severity for d in diags} == {"warning"}
    assert {(d.code, d.line) for d in diags} == {
        ("server-warning", 1),
        ("server-info", 1),
        ("deprecated", 7),
        ("outdated", 3),
    }


def test_unparsed_files_are_not_sent(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("a: [\n")
    flow, _ = load_flow(bad)
    client = FakeClient([])
    assert validate_server([flow], client) == []
    assert client.sent is None
