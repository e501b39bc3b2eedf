"""Flow tests (Kestra Enterprise): the REST calls, mixed into ``KestraClient``.

Paths, from the TestSuites operations of Kestra's OpenAPI description (docs/kestra-api.md):
- ``GET /api/v1/{tenant}/tests/search?namespace=&includeChildNamespaces=false`` (paged
  ``{results, total}`` of TestSuite) lists a namespace's suites;
- ``GET|PUT|DELETE /api/v1/{tenant}/tests/{namespace}/{id}`` reads (TestSuite, with its YAML
  ``source``), updates (the YAML as ``application/x-yaml``) and deletes one;
- ``POST /api/v1/{tenant}/tests`` creates one from its YAML;
- ``POST /api/v1/{tenant}/tests/{namespace}/{id}/run`` runs every test case and answers a
  TestSuiteRunResult: its ``state`` (TestState: SUCCESS, FAILED, ERROR, SKIPPED) has no
  "running" value and ``endDate`` is required, so the answer comes once the suite has run.
An OSS server has none of these: it answers 404.
"""

from __future__ import annotations

from typing import Any

from ..errors import IncompleteListingError, NotFoundError
from .http import YAML, tenant_path
from .wire import PagedListing, read_pages

SEARCH_PAGE_SIZE = 1000
MAX_PAGES = 1000  # a server that pages for ever is refused, not followed


def _incomplete(why: str) -> IncompleteListingError:
    return IncompleteListingError(
        f"the server's list of test suites is incomplete: {why}",
        hint="suites were probably changed while kestra-sync read them; run it again",
    )


class TestSuitesMixin:
    """Methods for test suites (needs ``self.http`` and ``self.tenant``)."""

    __test__ = False  # not a pytest class, whatever its name
    http: Any
    tenant: str

    def _tests_path(self, *segments: str) -> str:
        return tenant_path(self.tenant, "tests", *segments)

    def list_test_suites(self, namespace: str) -> list[dict]:
        """Every suite of exactly ``namespace`` ({id, flowId, source}), refused when the listing
        cannot be proven complete (client/wire.read_pages); a listing without the source is
        completed with one GET per suite."""

        def key_of(suite: dict) -> tuple[str, str] | None:
            if not isinstance(suite.get("id"), str):
                return None
            return (str(suite.get("namespace")), suite["id"])

        listing = PagedListing(
            noun="test suites",
            page_size=SEARCH_PAGE_SIZE,
            key_of=key_of,
            incomplete=_incomplete,
            twice=lambda suite: f"the test suite {suite['id']!r} was listed twice",
            shape="expected {results, total}",
            bad_entry="a suite has no id",
            max_pages=MAX_PAGES,
        )

        def params_of(page: int) -> dict[str, str]:
            return {
                "namespace": namespace,
                "includeChildNamespaces": "false",
                "page": str(page),
                "size": str(SEARCH_PAGE_SIZE),
            }

        found = {
            suite["id"]: suite
            for results, _ in read_pages(self.http, self._tests_path("search"), params_of, listing)
            for suite in results
            if suite.get("namespace") == namespace and not suite.get("deleted")
        }
        return [self._with_source(namespace, suite) for _, suite in sorted(found.items())]

    def _with_source(self, namespace: str, suite: dict) -> dict:
        if isinstance(suite.get("source"), str) and isinstance(suite.get("flowId"), str):
            return suite
        return self.get_test_suite(namespace, suite["id"])

    def get_test_suite(self, namespace: str, suite_id: str) -> dict:
        path = self._tests_path(namespace, suite_id)
        resp = self.http.request("GET", path)
        data = self.http.json("GET", path, resp, write=False)
        if not (
            isinstance(data, dict)
            and isinstance(data.get("source"), str)
            and isinstance(data.get("flowId"), str)
        ):
            raise self.http.unexpected(
                "GET", path, resp, "expected a TestSuite with its source", write=False
            )
        return data

    def create_test_suite(self, source: str) -> str:
        """``POST /tests``; "created"."""
        path = self._tests_path()
        self.http.request("POST", path, body=source.encode("utf-8"), content_type=YAML)
        return "created"

    def update_test_suite(self, namespace: str, suite_id: str, source: str) -> None:
        """``PUT /tests/{namespace}/{id}``: NotFoundError when the suite is gone."""
        path = self._tests_path(namespace, suite_id)
        self.http.request("PUT", path, body=source.encode("utf-8"), content_type=YAML)

    def delete_test_suite(self, namespace: str, suite_id: str) -> bool:
        """``DELETE /tests/{namespace}/{id}``; False when it was already gone."""
        try:
            self.http.request("DELETE", self._tests_path(namespace, suite_id))
        except NotFoundError:
            return False
        return True

    def run_test_suite(self, namespace: str, suite_id: str) -> dict:
        """``POST /tests/{namespace}/{id}/run`` (every test case): the TestSuiteRunResult."""
        path = self._tests_path(namespace, suite_id, "run")
        resp = self.http.request("POST", path, json_body={})
        data = self.http.json("POST", path, resp, write=True)
        if isinstance(data, list) and len(data) == 1:
            data = data[0]  # before Kestra 1.0: a list of one (knowledge.TESTS_RUN_ANSWERS_ONE)
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("state"), str)
            or not isinstance(data.get("results", []), list)  # a list of cases, or none
        ):
            raise self.http.unexpected(
                "POST", path, resp, "expected a TestSuiteRunResult", write=True
            )
        return data
