"""The checks of tests/emulator/test_kestrapy_compat.py, through whichever kestrapy release is
first on sys.path: run in a child process by test_kestrapy_releases.py, one release at a time.

Releases differ in their entry points (1.0: ``KestraClient(Configuration(...))``; from 1.3:
``KestraClient(host=..., username=..., password=...)``) and in which arguments are required
(1.0's ``flow()`` needs ``allow_deleted``), so every call is made by keyword with all of them.
Prints one line per check; any failure is a traceback and a non-zero exit."""

from __future__ import annotations

import json
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # generated models warn on import; not ours to judge
    import kestrapy
    from kestrapy import Configuration, KestraClient
    from kestrapy.exceptions import ApiException


def connect(url: str, user: str, password: str):
    try:
        return KestraClient(host=url, username=user, password=password)
    except TypeError:  # 1.0.x: a Configuration only
        return KestraClient(Configuration(host=url, username=user, password=password))


def flow_yaml(fid: str, extra: str = "") -> str:
    return (
        f"id: {fid}\nnamespace: company.team\n{extra}"
        "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )


def expect_status(status: int, call, **kw) -> ApiException:
    try:
        call(**kw)
    except ApiException as exc:
        assert exc.status == status, (exc.status, exc.body)
        return exc
    raise AssertionError(f"expected HTTP {status}")


def main(url: str, user: str, password: str) -> None:
    flows = connect(url, user, password).flows
    get = {"namespace": "company.team", "id": "hello", "tenant": "main"}
    src = flow_yaml("hello", "labels:\n  team: data\n")
    created = flows.create_flow(tenant="main", body=src)
    assert (created.id, created.namespace, created.revision) == ("hello", "company.team", 1)
    assert created.source == src
    print("create: revision 1, the source verbatim")
    dup = expect_status(422, flows.create_flow, tenant="main", body=src)
    assert "Flow id already exists" in json.loads(dup.body)["message"]
    print("duplicate create: 422 Flow id already exists")
    src2 = "# a comment survives\n" + flow_yaml("hello", "description: v2\n")
    assert flows.update_flow(body=src2, **get).revision == 2
    got = flows.flow(source=True, allow_deleted=False, **get)
    assert (got.source, got.revision) == (src2, 2)
    print("update: revision 2; get returns the new source verbatim")
    for i in range(3):
        flows.create_flow(tenant="main", body=flow_yaml(f"f{i}"))
    page = flows.search_flows(tenant="main", page=2, size=2, sort=["id:asc"])
    assert page.total == 4 and [f.id for f in page.results] == ["f2", "hello"], page
    print("search: page 2 of 2 and the total")
    assert flows.delete_flow(**get) is None
    expect_status(404, flows.flow, source=False, allow_deleted=False, **get)
    print("delete, then get: 404")
    wrong = connect(url, user, "Wrong1234").flows
    expect_status(401, wrong.search_flows, tenant="main", page=1, size=10)
    print("wrong password: 401")
    print(f"kestrapy {getattr(kestrapy, '__version__', '?')}: every check passed")


if __name__ == "__main__":
    main(*sys.argv[1:4])
