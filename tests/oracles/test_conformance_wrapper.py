"""The conformance wrapper's bookkeeping: a declared gap is recorded as one, and a declared gap
that starts passing fails the run so the declaration cannot outlive the mismatch."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from .conformance import kestra_case
from .tally import CONFORMANCE


def fake_request():
    return SimpleNamespace(node=SimpleNamespace(user_properties=[]))


def failing(http):
    assert http == "the answer Kestra gives"


def passing(http):
    assert http is not None


def test_a_case_that_passes_is_counted_as_passed():
    request = fake_request()
    kestra_case("X#passes")(passing)(request, "1.3", "anything")
    assert request.node.user_properties == [(CONFORMANCE, "passed")]


def test_a_declared_gap_that_fails_is_counted_as_a_gap_with_its_reason():
    request = fake_request()
    case = kestra_case("X#gap", gaps={"1.3": "the emulator cannot do it"})(failing)
    case(request, "1.3", "another answer")
    assert request.node.user_properties == [
        (CONFORMANCE, "gap: X#gap [1.3]: the emulator cannot do it")
    ]


def test_a_case_without_a_gap_on_this_profile_fails_for_real():
    case = kestra_case("X#gap", gaps={"1.3": "the emulator cannot do it"})(failing)
    with pytest.raises(AssertionError):
        case(fake_request(), "2.0", "another answer")


def test_a_declared_gap_that_now_passes_fails_the_run():
    case = kestra_case("X#fixed", gaps={"1.3": "was a gap"})(passing)
    with pytest.raises(pytest.fail.Exception, match="now passes on 1.3: remove its declared gap"):
        case(fake_request(), "1.3", "anything")
