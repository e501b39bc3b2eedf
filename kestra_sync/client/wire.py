"""What goes over the wire: reading Kestra's JSON and zip replies, and shaping request bodies.

Pure functions (no HTTP), so each rule can be tested on its own and cited next to its source.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..models import RemoteFlow, server_name_problem
from ..rules.knowledge import (  # noqa: F401 - Kestra's rule, re-exported for the client's API
    same_source,
    source_without_revision,
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class ValidationResult:
    """One item of ``POST /flows/validate`` (ValidateConstraintViolation, docs/kestra-api.md),
    mapped back to the caller's input: ``index`` is the position in the list passed to
    ``validate_flows``, not the server's per-request index. ``constraints`` is None when the
    flow is valid (the rule Kestra's own CLI used)."""

    index: int
    namespace: str | None = None
    flow: str | None = None
    constraints: str | None = None
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    deprecation_paths: list[str] = field(default_factory=list)
    outdated: bool = False
    filename: str | None = None

    @property
    def valid(self) -> bool:
        return self.constraints is None


@dataclass
class UpsertResult:
    """What ``upsert`` did: ``created``, ``updated`` or ``unchanged`` (nothing written)."""

    action: str
    flow: RemoteFlow
    previous_revision: int | None = None


# -- flows ---------------------------------------------------------------------------------


def normalise_labels(value: Any) -> list[dict[str, Any]]:
    """Labels as a list of ``{key, value}``. Kestra serialises a list (docs/kestra-api.md) but
    accepts a map on input and the spec allows both; kestrapy 1.x and kestractl crashed on the
    form they did not expect (docs/anchors.md), so accept both."""
    if isinstance(value, dict):
        return [{"key": str(k), "value": v} for k, v in value.items()]
    if isinstance(value, list):
        return [
            {"key": item["key"], "value": item.get("value")}
            for item in value
            if isinstance(item, dict) and "key" in item
        ]
    return []


def parse_flow(data: Any, *, tenant: str, source: str | None = None) -> RemoteFlow:
    """A Kestra ``Flow``/``FlowWithSource`` JSON object -> RemoteFlow. Unknown fields are
    ignored. Raises ValueError when id, namespace or revision is missing."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    ns, fid, rev = data.get("namespace"), data.get("id"), data.get("revision")
    if not isinstance(ns, str) or not isinstance(fid, str):
        raise ValueError("no namespace/id in the reply")
    if isinstance(rev, bool) or not isinstance(rev, int):
        raise ValueError("no revision in the reply")
    # Ids go into URLs (and, in pull, file paths): one with a NUL, a '/', or '..' would
    # address another resource. Flows stored before Kestra tightened its patterns still pass.
    problem = server_name_problem(ns, fid, legacy=True)
    if problem:
        raise ValueError(f"it holds {problem}")
    text = data.get("source")
    return RemoteFlow(
        namespace=ns,
        id=fid,
        revision=rev,
        source=text if isinstance(text, str) else source,
        tenant=tenant_id if isinstance(tenant_id := data.get("tenantId"), str) else tenant,
        disabled=data.get("disabled") is True,
        deleted=data.get("deleted") is True,
        labels=normalise_labels(data.get("labels")),
        updated=data.get("updated") if isinstance(data.get("updated"), str) else None,
    )


def flow_identity(source: str) -> tuple[str | None, str | None]:
    """(namespace, id) read from a flow's YAML, None where missing or not a string.

    A plan reads every source in scope only to learn whose it is, so the common case is
    answered from the text (``_identity_from_text``, about 30x cheaper than parsing); any
    source where that reading could differ from a YAML parser's is parsed in full. (Text that
    is not YAML at all may still be read by its key lines; the server stores no such source.)"""
    quick = _identity_from_text(source)
    if quick is not None:
        return quick
    try:
        data = yaml.load(source, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    ns, fid = data.get("namespace"), data.get("id")
    return (ns if isinstance(ns, str) else None, fid if isinstance(fid, str) else None)


# A top-level key line: a plain key at column 0, then its value. Flow sources are block
# mappings, so every line at column 0 that is not blank or a comment is one of these.
_TOP_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*) *:(?: +(.*))?\Z")
# An id/namespace value the fast path accepts: a plain scalar of the characters Kestra
# allows (id ``^[a-zA-Z0-9][a-zA-Z0-9._-]*``, namespace lower-case), then an optional comment.
_PLAIN_VALUE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?: +#.*)? *\Z")
# A lone \r is a line break for YAML (so are NEL, LS and PS): leave such sources to the parser.
_LONE_CR = re.compile("\r(?!\n)")
_STR_TAG = "tag:yaml.org,2002:str"
_resolver = yaml.resolver.Resolver()


def _identity_from_text(source: str) -> tuple[str | None, str | None] | None:
    """(namespace, id) when the text alone settles them as a YAML parser would, else None.

    Only a plain block mapping qualifies: every line at column 0 is blank, a comment or a
    ``key: value`` line; no ``---``/``...``/directive/``?`` line, no other line breaks than
    \\n, and no top-level value that opens a quoted or flow scalar without closing it on its
    line (its continuation lines could sit at column 0 and look like keys). ``id`` and
    ``namespace`` must each appear once, written as plain scalars that YAML reads as strings
    (``id: 12`` is an int, ``id: yes`` a bool): anything else goes to the parser.

    A plan reads every server flow in scope through here, so it is written for speed (issue
    13): substring tests and ``str.split`` run in C, a regex scan of the whole text would not."""
    if source.startswith("\ufeff") or "\x85" in source or "\u2028" in source:
        return None
    if "\u2029" in source:
        return None
    if "\r" in source:
        if _LONE_CR.search(source):
            return None
        source = source.replace("\r\n", "\n")  # every \r is now the end of a line
    found: dict[str, str] = {}
    after_identity = False  # since the last id or namespace line, only other lines than keys
    for line in source.split("\n"):
        if not line or line[0] in " \t#":
            if after_identity and line[:1] in (" ", "\t") and line.strip():
                return None  # a plain scalar goes on: "id: a\n  b" is the id "a b"
            continue  # blank, indented or a comment
        m = _TOP_KEY.match(line)
        if m is None:
            return None  # ---, ..., %YAML, ? key, - item, "quoted key", a flow continuation
        key, value = m.group(1), (m.group(2) or "").strip()
        if key == "id" or key == "namespace":
            v = _PLAIN_VALUE.match(value)
            if key in found or v is None:
                return None
            text = v.group(1)
            if _resolver.resolve(yaml.ScalarNode, text, (True, False)) != _STR_TAG:
                return None
            found[key] = text
            after_identity = True
            continue
        after_identity = False
        if value[:1] in ('"', "'", "[", "{") and not _closed_on_line(value):
            return None
    if len(found) != 2:
        return None
    return found["namespace"], found["id"]


def _closed_on_line(value: str) -> bool:
    """Whether a quoted or flow value ends on its own line, only a comment after it
    (conservative: False when unsure)."""
    i, n, depth = 0, len(value), 0
    while i < n:
        ch = value[i]
        if ch == '"' or ch == "'":
            close = value.find(ch, i + 1)
            while ch == '"' and close > 0 and _escaped(value, close):
                close = value.find(ch, close + 1)
            while ch == "'" and close > 0 and value.startswith("''", close):
                close = value.find(ch, close + 2)
            if close < 0:
                return False
            i = close
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if depth <= 0:
            rest = value[i + 1 :]
            return depth == 0 and (not rest.strip(" ") or rest.startswith(" #"))
        i += 1
    return False


def _escaped(text: str, pos: int) -> bool:
    backslashes = 0
    while pos > 0 and text[pos - 1] == "\\":
        backslashes += 1
        pos -= 1
    return backslashes % 2 == 1


# -- export zip ------------------------------------------------------------------------------


class ZipTooLargeError(ValueError):
    """An export zip that expands to more than the caller's limit."""


def read_zip(content: bytes, max_bytes: int | None = None) -> list[tuple[str, str]]:
    """(entry name, text) for every file entry of an export zip.

    Kestra writes ``source.getBytes()`` (HasSource.asZipFile), i.e. the JVM default charset,
    which is UTF-8 on the Java 18+ runtimes Kestra ships (JEP 400). Raises ValueError when the
    bytes are not a zip or an entry is not UTF-8, and ZipTooLargeError when the entries expand
    to more than ``max_bytes`` in total: each is read in chunks and counted as it is inflated,
    since the sizes a zip header declares are the server's word, not a bound."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a zip archive ({exc})") from None
    out = []
    left = max_bytes
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            try:
                data = _inflate(content, info, left)
                if data is None:
                    data = _read_entry(archive, info, left)
                if left is not None:
                    left -= len(data)
                out.append((info.filename, data.decode("utf-8")))
            except UnicodeDecodeError:
                raise ValueError(f"zip entry {info.filename!r} is not UTF-8") from None
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
                raise ValueError(f"zip entry {info.filename!r} is unreadable ({exc})") from None
    return out


# A local file header: signature, 22 bytes this reader does not need, name and extra lengths.
_LOCAL_HEADER = struct.Struct("<4s22xHH")


def _inflate(content: bytes, info: zipfile.ZipInfo, left: int | None) -> bytes | None:
    """The entry's bytes inflated straight from ``content``, for what Kestra writes (deflated
    or stored, not encrypted, a local header that agrees with the directory, a matching
    CRC-32 and size); None for anything else, which ``zipfile`` then reads (and reports).

    A plan reads every server flow from export zips, and ``ZipFile.open`` costs more per
    small entry than the inflating itself. The output is bounded by ``left`` as it is made,
    never by the sizes the zip declares."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        return None
    if left is not None and info.file_size > left:
        raise ZipTooLargeError(f"zip entry {info.filename!r} declares {info.file_size:,} bytes")
    offset = info.header_offset
    try:
        signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(content, offset)
    except struct.error:
        return None
    name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
    start = offset + _LOCAL_HEADER.size
    if signature != b"PK\x03\x04" or content[start : start + name_length] != name:
        return None
    start += name_length + extra_length
    raw = content[start : start + info.compress_size]
    if len(raw) != info.compress_size:
        return None
    if info.compress_type == zipfile.ZIP_STORED:
        data = raw
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            data = inflater.decompress(raw, 0 if left is None else left + 1)
        except zlib.error:
            return None
        if not inflater.eof and left is not None and len(data) > left:
            raise ZipTooLargeError(f"zip entry {info.filename!r} expands past the limit")
        if not inflater.eof:
            return None
    if left is not None and len(data) > left:
        raise ZipTooLargeError(f"zip entry {info.filename!r} expands past the limit")
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        return None
    return data


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, left: int | None) -> bytes:
    if left is not None and info.file_size > left:
        raise ZipTooLargeError(f"zip entry {info.filename!r} declares {info.file_size:,} bytes")
    chunks = []
    size = 0
    with archive.open(info) as entry:
        while chunk := entry.read(64 * 1024):
            size += len(chunk)
            if left is not None and size > left:
                raise ZipTooLargeError(f"zip entry {info.filename!r} expands past the limit")
            chunks.append(chunk)
    return b"".join(chunks)


def identity_from_entry_name(name: str, namespace: str) -> str | None:
    """The flow id from an export entry name, when the namespace is known exactly.

    Entry names are ``{ns}-{id}.yml`` for by-query since Jan 2025 (kestra ``d96742d7d``, 0.21)
    and were ``{ns}.{id}.yml`` before. Both separators can occur inside namespaces and ids, so
    a name alone is ambiguous; with the namespace known (an EQUALS filter) the id is what is
    left. Only used when the entry's YAML cannot be read."""
    for sep in ("-", "."):
        prefix = namespace + sep
        for ext in (".yml", ".yaml"):
            if name.startswith(prefix) and name.endswith(ext) and len(name) > len(prefix + ext):
                return name[len(prefix) : -len(ext)]
    return None


# -- validate body -------------------------------------------------------------------------

# The server splits a YAML validate body with `body.trim().split("\\n+---\\n*?")` (kestra
# FlowController.validateFlows at 8ecd8337): every "\n---" (one or more newlines, then
# three dashes at the start of a line) starts a new item, even "----" or "--- # x". The lazy
# `\n*?` matches nothing, so what follows the dashes stays in the next item.
_SERVER_SPLIT = re.compile(r"\n+---")
_MARKER_LINE = r"[ \t]*(?:#[^\r\n]*)?(?:\r?\n|\Z)"
_LEADING = re.compile(r"\A\ufeff?((?:[ \t]*(?:#[^\r\n]*)?\r?\n)*)---" + _MARKER_LINE)
_TRAILING_END = re.compile(
    r"(?:\r?\n|\A)\.\.\." + _MARKER_LINE + r"(?:[ \t]*(?:#[^\r\n]*)?(?:\r?\n|\Z))*\Z"
)
_SPLIT_POINT = re.compile(r"(?:\A|\n)---")
VALIDATE_JOINER = "\n---\n"


def split_like_server(body: str) -> list[str]:
    """What the server makes of a YAML validate body: Java's String.trim() then split, which
    drops trailing empty strings (Java ``split`` semantics)."""
    trimmed = _java_trim(body)
    pieces = _SERVER_SPLIT.split(trimmed)
    while len(pieces) > 1 and pieces[-1] == "":
        pieces.pop()
    return pieces


def _java_trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def prepare_for_validate(source: str) -> tuple[str | None, str | None]:
    """(text to send, None) or (None, problem) for one flow source.

    To keep one server item per input (kestractl does the same, docs/anchors.md): drop a
    leading BOM and a leading ``---`` document marker (comments before it are kept), and a
    trailing ``...`` document-end marker. What is left must not contain a split point; a file
    that still does holds several YAML documents, which is not one flow, and is reported here
    instead of being sent (sending it would shift every later index)."""
    text = source.lstrip("\ufeff")
    m = _LEADING.match(text)
    if m:
        text = m.group(1) + text[m.end() :]
    text = _TRAILING_END.sub("\n", text)
    if not _java_trim(text):
        return None, "empty flow source"
    split = _SPLIT_POINT.search(text)
    if split:
        line = text.count("\n", 0, split.start() + (1 if text[split.start()] == "\n" else 0)) + 1
        return None, (
            f"line {line} starts with '---': the file holds more than one YAML document, "
            "but a flow file must hold exactly one flow"
        )
    return text, None


def parse_validation_item(item: Any) -> ValidationResult:
    """A ValidateConstraintViolation JSON object (index as sent by the server)."""
    if not isinstance(item, dict) or isinstance(item.get("index"), bool):
        raise ValueError("expected objects with an index")
    index = item.get("index")
    if not isinstance(index, int):
        raise ValueError("expected objects with an index")

    def strings(key: str) -> list[str]:
        value = item.get(key)
        return [str(v) for v in value] if isinstance(value, list) else []

    def opt(key: str) -> str | None:
        value = item.get(key)
        return value if isinstance(value, str) else None

    return ValidationResult(
        index=index,
        namespace=opt("namespace"),
        flow=opt("flow"),
        constraints=opt("constraints"),
        warnings=strings("warnings"),
        infos=strings("infos"),
        deprecation_paths=strings("deprecationPaths"),
        outdated=item.get("outdated") is True,
        filename=opt("filename"),
    )


def last_page(
    listed: int, total: int, page: int, held: int, page_size: int, noun: str, incomplete: Any
) -> bool:
    """Whether a paged listing is complete after ``page`` (which ``held`` items, ``listed``
    so far of the ``total`` the server counted). A listing that can be proven neither
    complete nor still going (more items than counted, a short page before the end) raises
    ``incomplete(why)``: a list with a hole is never compared, since what is missing from it
    would be created over the server's item or left out of the deletes' checks."""
    if listed >= total:
        if listed > total:
            raise incomplete(f"got {listed} {noun} but the server counted {total}")
        return True
    if held < page_size:
        raise incomplete(f"page {page} held {held} {noun}, {listed} of {total} so far")
    return False


@dataclass(frozen=True)
class PagedListing:
    """One ``{results, total}`` listing read page by page (``read_pages``), and what its
    refusals say."""

    noun: str  # "keys", "dashboards": in the messages of ``last_page``
    page_size: int
    # An entry's identity across pages, or None when the entry is not one of this listing's.
    key_of: Callable[[Any], Hashable | None]
    incomplete: Callable[[str], Exception]
    twice: Callable[[dict], str]  # why an entry listed twice ends the listing
    changed: str = ""  # "the number of keys" (the default says so with the noun)
    shape: str = ""  # an answer that is not a page (default: "expected a page of <noun> ...")
    bad_entry: str = ""  # an entry with no identity (default: the shape's message)
    max_pages: int | None = None  # a server that pages for ever is refused, not followed


def read_pages(
    http: Any, path: str, params_of: Callable[[int], Any], listing: PagedListing
) -> Iterator[tuple[list[dict], Any]]:
    """Each page's entries of a paged ``GET path``, with its answer, until ``last_page`` says the listing is
    complete. Whatever the kind, a listing that cannot be proven complete raises
    ``listing.incomplete`` rather than return a list with a hole: a ``total`` that changes
    between pages, an entry listed twice (pages repeated under an inflated ``total`` would
    otherwise be read until that total), a short page, more entries than counted."""
    shape = listing.shape or f"expected a page of {listing.noun} {{results, total}}"
    changed = listing.changed or f"the number of {listing.noun}"
    seen: set[Hashable] = set()
    total: int | None = None
    listed, page = 0, 1
    while True:
        if listing.max_pages is not None and page > listing.max_pages:
            raise listing.incomplete(f"more than {listing.max_pages} pages")
        resp = http.request("GET", path, params=params_of(page))
        data = http.json("GET", path, resp, write=False)
        results = data.get("results") if isinstance(data, dict) else None
        count = data.get("total") if isinstance(data, dict) else None
        if not isinstance(results, list) or isinstance(count, bool) or not isinstance(count, int):
            raise http.unexpected("GET", path, resp, shape, write=False)
        keys = [listing.key_of(e) if isinstance(e, dict) else None for e in results]
        if any(key is None for key in keys):
            raise http.unexpected("GET", path, resp, listing.bad_entry or shape, write=False)
        if total is None:
            total = count
        elif count != total:
            raise listing.incomplete(f"{changed} changed from {total} to {count} while paging")
        for entry, key in zip(results, keys, strict=True):
            if key in seen:
                raise listing.incomplete(listing.twice(entry))
            seen.add(key)
        listed += len(results)
        yield results, resp
        if last_page(
            listed, total, page, len(results), listing.page_size, listing.noun, listing.incomplete
        ):
            return
        page += 1
