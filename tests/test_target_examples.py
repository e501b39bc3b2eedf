"""The examples the `--target` error shows: each names an item of its kind in the form the
kind's targets take (a user copies them)."""

from __future__ import annotations

import pytest

from kestra_sync.kinds import every_kind
from kestra_sync.kinds.base import TENANT_LEVEL
from kestra_sync.models import FlowRef
from kestra_sync.planning.targeting import is_targeted


@pytest.mark.parametrize("kind", [k for k in every_kind() if k.target_prefix], ids=lambda k: k.name)
def test_each_kinds_target_example_targets_an_item_of_that_kind(kind):
    example = f"{kind.target_prefix}:{kind.target_example}"
    if kind.level == TENANT_LEVEL:
        ref = FlowRef("main", "", kind.target_example, kind.name)
    else:
        namespace, slash, item = kind.target_example.partition("/")
        assert slash and item, f"{example} names no namespace"
        ref = FlowRef("main", namespace, item, kind.name)
    assert is_targeted(ref, [example])
