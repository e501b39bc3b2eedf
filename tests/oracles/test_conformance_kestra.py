"""Oracle 3: Kestra's own controller tests, translated into HTTP checks against every profile.

Each case restates, in our words, what one test method of Kestra's webserver test suite
(kestra-io/kestra, ``webserver/src/test/java/io/kestra/webserver/controllers/api``, at the commit
in conformance.KESTRA_COMMIT) asserts about the API kestra-sync uses: namespace files, KV pairs
and flows. Kestra's tests seed storage directly; we seed through the API instead. A case the
emulator cannot pass is a declared gap (conformance.kestra_case), counted in the run's summary."""

from __future__ import annotations

from .conformance import kestra_case

NFC = "NamespaceFileControllerTest"
KVC = "KVControllerTest"
FC = "FlowControllerTest"
LOG = "io.kestra.plugin.core.log.Log"


def flow(fid: str, namespace: str, message: str = "hi") -> str:
    return f"id: {fid}\nnamespace: {namespace}\ntasks:\n  - id: log\n    type: {LOG}\n    message: {message}\n"


# --- NamespaceFileControllerTest -----------------------------------------------------------


@kestra_case(f"{NFC}#createGetFileContent")
def test_uploaded_file_reads_back(http):
    """An upload (also of a name starting with _flows) reads back byte for byte."""
    n = http.ns()
    assert http.upload(n, "/test.txt", b"Hello").status_code == 200
    assert http.get(f"/namespaces/{n}/files", params={"path": "/test.txt"}).content == b"Hello"
    assert http.upload(n, "/_flowsFile", b"Hello").status_code == 200
    assert http.get(f"/namespaces/{n}/files", params={"path": "/_flowsFile"}).content == b"Hello"


@kestra_case(f"{NFC}#getFileMetadatas")
def test_file_stats_name_the_file(http):
    n = http.ns()
    http.upload(n, "/test.txt", b"Hello World")
    stats = http.get(f"/namespaces/{n}/files/stats", params={"path": "/test.txt"}).json()
    assert (stats["fileName"], stats["type"]) == ("test.txt", "File")


@kestra_case(
    f"{NFC}#namespaceRootGetFileMetadatasWithoutPreCreation",
    # Added with kestra-io/kestra 534b7f4ec (2025-04-16), after the 0.22 cut.
    profiles=("1.0", "1.3", "2.0"),
)
def test_root_stats_of_a_new_namespace_is_the_files_directory(http):
    stats = http.get(f"/namespaces/{http.ns()}/files/stats").json()
    assert (stats["fileName"], stats["type"]) == ("_files", "Directory")


@kestra_case(f"{NFC}#listNamespaceDirectoryFiles")
def test_directory_listing_is_one_level(http):
    n = http.ns()
    http.upload(n, "/test/test.txt", b"Hello World")
    http.upload(n, "/test/test2.txt", b"Hello World")
    root = http.get(f"/namespaces/{n}/files/directory").json()
    assert [e["fileName"] for e in root] == ["test"]
    sub = http.get(f"/namespaces/{n}/files/directory", params={"path": "/test"}).json()
    assert sorted(e["fileName"] for e in sub) == ["test.txt", "test2.txt"]


@kestra_case(f"{NFC}#listNamespaceDirectoryFilesNotExisting")
def test_listing_an_empty_namespace_and_a_missing_directory(http):
    n = http.ns()
    root = http.get(f"/namespaces/{n}/files/directory")
    assert (root.status_code, root.json()) == (200, [])
    missing = http.get(
        f"/namespaces/{n}/files/directory", params={"path": "/not_existing_directory"}
    )
    assert missing.status_code == 404
    assert "Directory not found: /not_existing_directory" in missing.json()["message"]


@kestra_case(f"{NFC}#createNamespaceDirectory")
def test_create_directory(http):
    n = http.ns()
    for path in ("/test", "/_flows2"):
        made = http.call("POST", f"/namespaces/{n}/files/directory", params={"path": path})
        assert made.status_code == 200, made.text
        stats = http.get(f"/namespaces/{n}/files/stats", params={"path": path}).json()
        assert (stats["fileName"], stats["type"]) == (path[1:], "Directory")


@kestra_case(f"{NFC}#createNamespaceDirectoryException")
def test_create_directory_under_flows_is_refused(http):
    made = http.call("POST", f"/namespaces/{http.ns()}/files/directory", params={"path": "/_flows"})
    assert made.status_code >= 400


@kestra_case(f"{NFC}#deleteFileDirectory")
def test_delete_removes_empty_parents_but_not_shared_ones(http):
    n = http.ns()
    files = f"/namespaces/{n}/files"
    http.upload(n, "/folder/file.txt", b"Hello")
    assert http.delete(files, params={"path": "/folder/file.txt"}).status_code < 300
    root = http.get(f"{files}/directory").json()
    assert [e["fileName"] for e in root] == []  # the emptied folder went with its file
    http.upload(n, "/multi/file1.txt", b"Hello")
    http.upload(n, "/multi/file2.txt", b"Hello")
    http.delete(files, params={"path": "/multi/file1.txt"})
    left = http.get(f"{files}/directory", params={"path": "/multi"}).json()
    assert [e["fileName"] for e in left] == ["file2.txt"]
    assert http.delete(files, params={"path": "/multi"}).status_code < 300
    assert http.get(f"{files}/directory").json() == []


@kestra_case(
    f"{NFC}#shouldNotCollideSpaceAndPlusInFileName",
    # Fixed in 2.0 by kestra-io/kestra 186b632e9; 1.x stores `a b.txt` as `a+b.txt`.
    profiles=("2.0",),
)
def test_space_and_plus_are_two_files(http):
    n = http.ns()
    http.upload(n, "/c/a b.txt", b"SPACE-version")
    http.upload(n, "/c/a+b.txt", b"PLUS-version")
    files = f"/namespaces/{n}/files"
    assert http.get(files, params={"path": "/c/a b.txt"}).content == b"SPACE-version"
    assert http.get(files, params={"path": "/c/a+b.txt"}).content == b"PLUS-version"
    listing = http.get(f"{files}/directory", params={"path": "/c"}).json()
    assert sorted(e["fileName"] for e in listing) == ["a b.txt", "a+b.txt"]


@kestra_case(f"{NFC}#forbiddenPaths")
def test_flows_directory_is_forbidden(http):
    files = f"/namespaces/{http.ns()}/files"
    answers = [
        http.get(files, params={"path": "/_flows/test.yml"}),
        http.get(f"{files}/stats", params={"path": "/_flows/test.yml"}),
        http.get(f"{files}/directory", params={"path": "/_flows"}),
        http.delete(files, params={"path": "/_flows/test.txt"}),
    ]
    for answer in answers:
        assert answer.json()["message"].startswith("Illegal argument: Forbidden path: "), (
            answer.text
        )


@kestra_case(
    f"{NFC}#pathTraversalShouldBeRejected",
    # The `..` guard is kestra-io/kestra 8ac27db36 (2026-05-28, 2.0).
    profiles=("2.0",),
)
def test_dot_dot_is_refused_on_read_and_delete(http):
    n = http.ns()
    http.upload(n, "/test.txt", b"Hello")
    files = f"/namespaces/{n}/files"
    answers = [
        http.get(files, params={"path": "/foo/../../test.txt"}),
        http.get(f"{files}/stats", params={"path": "/foo/../../test.txt"}),
        http.get(f"{files}/directory", params={"path": "/foo/../.."}),
        http.delete(files, params={"path": "/foo/../../test.txt"}),
    ]
    assert all(a.status_code >= 400 for a in answers), [a.status_code for a in answers]
    assert http.get(files, params={"path": "/test.txt"}).content == b"Hello"


@kestra_case(
    f"{NFC}#shouldRejectForwardSlashPathTraversalOnWriteAndDelete",
    # The `..` guard is kestra-io/kestra 8ac27db36 (2026-05-28, 2.0).
    profiles=("2.0",),
)
def test_dot_dot_is_refused_on_write(http):
    n = http.ns()
    http.upload(n, "/safe.txt", b"safe")
    assert http.upload(n, "/x/../../../escaped.txt", b"OWNED").status_code >= 400
    files = f"/namespaces/{n}/files"
    assert http.delete(files, params={"path": "/x/../../../safe.txt"}).status_code >= 400
    assert http.get(files, params={"path": "/safe.txt"}).content == b"safe"


# --- KVControllerTest ----------------------------------------------------------------------

# (text PUT as text/plain, type the server infers, value as it answers it): setKeyValue's
# arguments read back as getKeyValue's.
TYPED = [
    ('{"hello":"world"}', "JSON", {"hello": "world"}),
    ('["hello","world"]', "JSON", ["hello", "world"]),
    ('"hello"', "STRING", "hello"),
    ("1", "NUMBER", 1),
    ("1.1", "NUMBER", 1.1),
    ("true", "BOOLEAN", True),
    ("false", "BOOLEAN", False),
    ("2021-09-01", "DATE", "2021-09-01"),
    ("2021-09-01T01:02:03Z", "DATETIME", "2021-09-01T01:02:03Z"),
    ('"PT5S"', "DURATION", "PT5S"),
]


@kestra_case(f"{KVC}#setKeyValue + #getKeyValue")
def test_typed_values_round_trip(http):
    n = http.ns()
    for i, (text, kind, value) in enumerate(TYPED):
        assert http.put_kv(n, f"k{i}", text).status_code == 200, text
        got = http.get(f"/namespaces/{n}/kv/k{i}").json()
        assert (got["type"], got["value"], got["revision"]) == (kind, value, 1), text
    http.put_kv(n, "k0", TYPED[0][0])
    assert http.get(f"/namespaces/{n}/kv/k0").json()["revision"] == 2


@kestra_case(f"{KVC}#getKeyValueNotFound")
def test_missing_key_is_404_with_kestras_text(http):
    n = http.ns()
    missing = http.get(f"/namespaces/{n}/kv/my-key")
    assert missing.status_code == 404
    expected = f"Not Found: No value found for key 'my-key' in namespace '{n}'"
    assert missing.json()["message"] == expected


@kestra_case(f"{KVC}#setKeyValue (ttl and description headers)")
def test_ttl_and_description_headers_are_kept(http):
    n = http.ns()
    assert http.put_kv(n, "my-key", '"v"', ttl="PT5M", description="myDescription").ok
    entries = [e for e in _kv_listing(http, n) if e["key"] == "my-key"]
    assert len(entries) == 1 and entries[0]["description"] == "myDescription"
    assert entries[0]["expirationDate"]


@kestra_case(f"{KVC}#deleteKeyValue")
def test_deleted_key_is_gone(http):
    n = http.ns()
    http.put_kv(n, "my-key", '"content"')
    assert http.delete(f"/namespaces/{n}/kv/my-key").status_code == 200
    assert http.get(f"/namespaces/{n}/kv/my-key").status_code == 404


@kestra_case(f"{KVC}#shouldReturnSuccessForDeleteKeyValueBulkOperationGivenExistingKeys")
def test_bulk_delete_names_what_it_deleted(http):
    n = http.ns()
    http.put_kv(n, "my-key", '"content"')
    done = http.delete(f"/namespaces/{n}/kv", json={"keys": ["my-key", "other"]})
    assert (done.status_code, done.json()) == (200, {"keys": ["my-key"]})
    assert http.get(f"/namespaces/{n}/kv/my-key").status_code == 404


@kestra_case(f"{KVC}#illegalKey")
def test_illegal_key_is_422_on_every_verb(http):
    n = http.ns()
    message = (
        "Illegal argument: Key must start with an alphanumeric character (uppercase or "
        "lowercase) and can contain alphanumeric characters (uppercase or lowercase), dots (.), "
        "underscores (_), and hyphens (-) only."
    )
    for answer in (
        http.get(f"/namespaces/{n}/kv/bad$key"),
        http.put_kv(n, "bad$key", '"content"'),
        http.delete(f"/namespaces/{n}/kv/bad$key"),
    ):
        assert (answer.status_code, answer.json()["message"]) == (422, message)


@kestra_case(
    f"{KVC}#jsonFallback",
    # kestra-io/kestra 281301ea7 (2025-12-31, 1.2): before it, such text is a 422.
    profiles=("1.3", "2.0"),
)
def test_text_that_is_no_json_is_a_string(http):
    n = http.ns()
    http.put_kv(n, "my-key", "1.2.3")
    got = http.get(f"/namespaces/{n}/kv/my-key").json()
    assert (got["type"], got["value"]) == ("STRING", "1.2.3")


def _kv_listing(http, n: str) -> list[dict]:
    """The namespace's KV entries: GET …/namespaces/{ns}/kv up to 1.3, the tenant-wide
    listing filtered by namespace from 2.0 (where the former is gone)."""
    answer = http.get(f"/namespaces/{n}/kv")
    if answer.status_code == 200:
        return answer.json()
    answer = http.get("/kv", params={"filters[namespace][EQUALS]": n, "size": 100})
    return answer.json()["results"]


# --- FlowControllerTest (the endpoints kestra-sync uses) ------------------------------------


@kestra_case(f"{FC}#createFlowFromJsonFlowFromString")
def test_created_flow_keeps_its_source_with_comments(http):
    n = http.ns()
    source = "# Comment i added\n" + flow("a", n)
    created = http.flow(source)
    assert created.status_code == 200 and created.json()["id"] == "a"
    got = http.get(f"/flows/{n}/a", params={"source": "true"}).json()
    assert got["source"] == source


@kestra_case(f"{FC}#idNoSource")
def test_get_without_source_has_no_source(http):
    n = http.ns()
    http.flow(flow("a", n))
    assert "source" not in http.get(f"/flows/{n}/a").json()
    assert http.get(f"/flows/{n}/a", params={"source": "true"}).json()["source"] == flow("a", n)


@kestra_case(f"{FC}#idNotFound")
def test_missing_flow_is_404(http):
    assert http.get(f"/flows/{http.ns()}/notFound").status_code == 404


@kestra_case(f"{FC}#createFlowFromJsonInvalidFlowFromString")
def test_invalid_flow_is_422(http):
    n = http.ns()
    answer = http.flow(f"id: a\nnamespace: {n}\ntasks: []\n")  # no task: not a valid flow
    assert answer.status_code == 422


@kestra_case(f"{FC}#deletedFlow")
def test_delete_then_delete_again_is_404_and_the_flow_stays_readable_as_deleted(http):
    n = http.ns()
    assert http.flow(flow("a", n)).json()["revision"] == 1
    assert http.delete(f"/flows/{n}/a").status_code == 204
    assert http.delete(f"/flows/{n}/a").status_code == 404
    deleted = http.get(f"/flows/{n}/a", params={"allowDeleted": "true"})
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True


@kestra_case(f"{FC}#findFlowRevisions")
def test_revisions_survive_a_delete_and_recreate(http):
    n = http.ns()
    assert http.flow(flow("a", n)).json()["revision"] == 1
    assert http.flow(flow("a", n, "b"), "PUT", f"/flows/{n}/a").json()["revision"] == 2
    http.delete(f"/flows/{n}/a")
    assert http.flow(flow("a", n, "b")).json()["revision"] == 4
    revisions = http.get(f"/flows/{n}/a/revisions").json()
    assert [r["revision"] for r in revisions] == [1, 2, 4]


@kestra_case(
    f"{FC}#searchFlowsByNamespacePrefix",
    # filters[namespace][PREFIX] exists from kestra-io/kestra e163d9112 (after the 0.22 cut).
    profiles=("1.0", "1.3", "2.0"),
)
def test_search_by_namespace_prefix(http):
    root = http.ns()
    for namespace in (root, http.track(root + ".child"), http.track(root + "2")):
        http.flow(flow("a", namespace))
    page = http.get("/flows/search", params={"filters[namespace][PREFIX]": root + "2"}).json()
    assert page["total"] == 1
    page = http.get("/flows/search", params={"filters[namespace][PREFIX]": root}).json()
    assert page["total"] == 2  # the namespace and its children, not `<root>2`


@kestra_case(f"{FC}#validateFlows")
def test_validate_answers_one_entry_per_document_and_outdated(http):
    n = http.ns()
    http.flow(flow("a", n))
    # Kestra's resource (validateMultipleValidFlows.yaml) gives the existing flow `revision: 1`:
    # a sent revision that is not the next one is outdated.
    both = flow("a", n) + "revision: 1\n---\n" + flow("b", n)
    answer = http.flow(both, path="/flows/validate")
    assert answer.status_code == 200
    body = answer.json()
    assert len(body) == 2
    assert body[0]["outdated"] is True and body[1]["outdated"] is False
    assert all("constraints" not in entry for entry in body)
    bad = flow("c", n) + "unknownProp: 1\n"
    body = http.flow(bad, path="/flows/validate").json()
    assert 'Unrecognized field "unknownProp"' in body[0]["constraints"]
