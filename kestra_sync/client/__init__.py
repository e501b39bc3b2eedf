"""A thin client for Kestra's flows REST API over ``requests`` (why not kestrapy:
docs/anchors.md).

- ``http``: the session, auth, timeouts, retries, size limits, redirects and the status ->
  typed error mapping;
- ``deadline``: makes the read timeout bound each request end to end, not each socket read;
- ``urls``: the server URL without credentials, origins, API paths, the TLS ``verify`` value;
- ``wire``: reading Kestra's JSON and zip replies and shaping request bodies (pure functions);
- ``api``: ``KestraClient``, one method per REST call plus the careful compositions.
"""

from .api import KestraClient
from .wire import UpsertResult, ValidationResult, same_source, source_without_revision

__all__ = [
    "KestraClient",
    "UpsertResult",
    "ValidationResult",
    "same_source",
    "source_without_revision",
]
