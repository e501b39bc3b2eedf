"""The official SDK ``kestrapy`` (2.0.x) against the emulator: the answers a real Kestra gives.

kestrapy (and its undeclared ``regex`` dependency, docs/anchors.md) come with the
``test`` extra, so this runs on every CI run.
"""

from __future__ import annotations

import json
import warnings

import pytest

with warnings.catch_warnings():
    # kestrapy's generated models warn on import (a pydantic field named "validate";
    # docs/anchors.md); that is its business, not a failure of ours.
    warnings.simplefilter("ignore", UserWarning)
    from kestrapy import KestraClient
from kestrapy.exceptions import (
    NotFoundException,
    UnauthorizedException,
    UnprocessableEntityException,
)

from .conftest import flow_yaml  # noqa: E402

USER, PASSWORD = "admin@kestra.io", "Admin1234"


@pytest.fixture
def sdk(make_emulator):
    emu = make_emulator(users={USER: PASSWORD})
    client = KestraClient(host=emu.url, username=USER, password=PASSWORD, timeout=10)
    yield client
    client.close()


def test_kestrapy_create_returns_flow_with_source(sdk):
    src = flow_yaml(extra="labels:\n  team: data\n")
    flow = sdk.flows.create_flow("main", src)
    assert flow.id == "hello" and flow.namespace == "company.team"
    assert flow.revision == 1
    assert flow.source == src


def test_kestrapy_duplicate_create_raises_unprocessable_entity_422(sdk):
    sdk.flows.create_flow("main", flow_yaml())
    with pytest.raises(UnprocessableEntityException) as info:
        sdk.flows.create_flow("main", flow_yaml())
    assert info.value.status == 422
    assert "Flow id already exists" in json.loads(info.value.body)["message"]


def test_kestrapy_update_bumps_revision_and_get_returns_source_verbatim(sdk):
    sdk.flows.create_flow("main", flow_yaml())
    src2 = "# a comment survives\n" + flow_yaml(extra="description: v2\n")
    updated = sdk.flows.update_flow("company.team", "hello", "main", src2)
    assert updated.revision == 2
    got = sdk.flows.flow("company.team", "hello", "main", source=True)
    assert got.source == src2 and got.revision == 2


def test_kestrapy_search_paging(sdk):
    for i in range(3):
        sdk.flows.create_flow("main", flow_yaml(f"f{i}"))
    page = sdk.flows.search_flows("main", page=2, size=2)
    assert page.total == 3
    assert [f.id for f in page.results] == ["f2"]


def test_kestrapy_delete_then_get_raises_not_found(sdk):
    sdk.flows.create_flow("main", flow_yaml())
    assert sdk.flows.delete_flow("company.team", "hello", "main") is None
    with pytest.raises(NotFoundException) as info:
        sdk.flows.flow("company.team", "hello", "main")
    assert info.value.status == 404


def test_kestrapy_wrong_password_raises_unauthorized(make_emulator):
    emu = make_emulator(users={USER: PASSWORD})
    client = KestraClient(host=emu.url, username=USER, password="Wrong1234", timeout=10)
    with client, pytest.raises(UnauthorizedException) as info:
        client.flows.search_flows("main", page=1, size=10)
    assert info.value.status == 401
