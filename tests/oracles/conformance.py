"""The conformance suite's case wrapper: one Kestra controller test, translated into our own HTTP
checks, run against every emulator profile, with the profiles where the emulator cannot pass
declared as gaps (with the reason) and counted at the end of the run (tally.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .tally import CONFORMANCE

# kestra-io/kestra develop commit the cases were read at (the public mirror erickirt/kestra).
KESTRA_COMMIT = "8ecd8337017486d69af2dafbe71d46e5bb243e99"
TESTS_DIR = "webserver/src/test/java/io/kestra/webserver/controllers/api"


def kestra_case(
    source: str,
    profiles: tuple[str, ...] | None = None,
    gaps: dict[str, str] | None = None,
) -> Callable:
    """Mark ``fn(http)`` as the translation of Kestra's ``source`` (``Class#method``).

    ``profiles``: the releases the case applies to (the behaviour it checks was introduced or
    changed at a known commit, cited by the case); it is not generated for the others. ``gaps``: profile ->
    why the emulator cannot pass; such a case must fail there (a gap that starts passing fails
    the run, so the declaration is removed)."""

    def wrap(fn: Callable) -> Callable:
        def test(request, profile, http):
            reason = (gaps or {}).get(profile)
            if reason is None:
                fn(http)
                request.node.user_properties.append((CONFORMANCE, "passed"))
                return
            try:
                fn(http)
            except AssertionError:
                request.node.user_properties.append(
                    (CONFORMANCE, f"gap: {source} [{profile}]: {reason}")
                )
                return
            pytest.fail(f"{source} now passes on {profile}: remove its declared gap")

        test.__name__ = fn.__name__
        test.kestra_profiles = profiles  # read by conftest.pytest_generate_tests
        test.__doc__ = f"{source} (kestra-io/kestra {KESTRA_COMMIT[:9]}): {fn.__doc__ or ''}"
        return test

    return wrap
