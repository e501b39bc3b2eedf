"""Dashboards: the REST calls, mixed into ``KestraClient``.

Kestra's ``DashboardController`` (kestra-io/kestra
``webserver/src/main/java/io/kestra/webserver/controllers/api/DashboardController.java``,
read at 8ecd83370 and at the 1.0 cut a3c9b35b2), at ``/api/v1/{tenant}/dashboards``:
- ``GET`` lists a page (``page``, ``size``) as ``{results, total}``; ``GET {id}`` answers the
  dashboard with ``sourceCode``, the YAML stored byte for byte by ``save`` (a source without
  a line starting ``id:`` gets ``id: <id>`` prepended on the way out, b3fa5ead6);
- ``POST`` (``application/x-yaml``) creates: 422 ``Dashboard id already exists`` when it
  does; ``PUT {id}`` updates: 404 when missing, 422 ``Illegal dashboard id update`` when the
  YAML names another id; ``DELETE {id}``: 204, and a missing dashboard makes the repository
  throw ``IllegalStateException`` (``AbstractJdbcDashboardRepository.delete``), a 409.
Whether a listing's entries carry ``sourceCode`` depends on how the repository serialised
the row, which could not be established: the source is read with one GET per dashboard.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConflictError, IncompleteListingError, NotFoundError
from .urls import tenant_path
from .wire import PagedListing, read_pages

YAML = "application/x-yaml"
PAGE_SIZE = 100


def _incomplete(why: str) -> IncompleteListingError:
    return IncompleteListingError(
        f"the server's list of dashboards is incomplete: {why}",
        hint="dashboards were probably changed while kestra-sync read them; run it again",
    )


class DashboardsMixin:
    """``self.http`` and ``self.tenant`` come from ``KestraClient``."""

    http: Any
    tenant: str

    def _dashboards_path(self, *segments: str) -> str:
        """The URL of the tenant's dashboards, or of one (an id that cannot be put in a URL,
        from a listing or a saved plan, is never sent: ``tenant_path``)."""
        return tenant_path(self.tenant, "dashboards", *segments, what="dashboard id")

    def list_dashboards(self) -> list[str]:
        """The ids of the tenant's dashboards, every page; a listing that cannot be proven
        complete raises (a dashboard missing from it would be created over, or not kept)."""
        listing = PagedListing(
            noun="dashboards",
            page_size=PAGE_SIZE,
            key_of=lambda entry: entry["id"] if isinstance(entry.get("id"), str) else None,
            incomplete=_incomplete,
            twice=lambda entry: f"the dashboard {entry['id']!r} was listed twice",
            changed="the count",
        )
        pages = read_pages(
            self.http,
            self._dashboards_path(),
            lambda page: {"page": str(page), "size": str(PAGE_SIZE)},
            listing,
        )
        return [entry["id"] for results, _ in pages for entry in results]

    def get_dashboard_source(self, dashboard_id: str) -> str | None:
        """The stored YAML of one dashboard, or None when it is gone (404)."""
        path = self._dashboards_path(dashboard_id)
        try:
            resp = self.http.request("GET", path)
        except NotFoundError:
            return None
        data = self.http.json("GET", path, resp, write=False)
        source = data.get("sourceCode") if isinstance(data, dict) else None
        if not isinstance(source, str):
            raise self.http.unexpected("GET", path, resp, "expected a sourceCode", write=False)
        return source

    def tenant_dashboards(self) -> dict[str, str]:
        """id -> stored YAML of every dashboard of the tenant: the listing, then one GET each."""
        out = {}
        for dashboard_id in self.list_dashboards():
            source = self.get_dashboard_source(dashboard_id)
            if source is not None:  # deleted in between
                out[dashboard_id] = source
        return out

    def create_dashboard(self, source: str) -> None:
        """``POST /dashboards``; an existing id raises AlreadyExistsError (422)."""
        path = self._dashboards_path()
        self.http.request("POST", path, body=source.encode("utf-8"), content_type=YAML)

    def update_dashboard(self, dashboard_id: str, source: str) -> None:
        """``PUT /dashboards/{id}``; a missing dashboard raises NotFoundError."""
        path = self._dashboards_path(dashboard_id)
        self.http.request("PUT", path, body=source.encode("utf-8"), content_type=YAML)

    def delete_dashboard(self, dashboard_id: str) -> bool:
        """``DELETE /dashboards/{id}`` -> whether it existed (404, or the repository's 409
        "doesn't exists", for one already gone)."""
        path = self._dashboards_path(dashboard_id)
        try:
            self.http.request("DELETE", path)
        except NotFoundError:
            return False
        except ConflictError as err:
            if "exist" not in (err.server_message or ""):
                raise
            return False
        return True
