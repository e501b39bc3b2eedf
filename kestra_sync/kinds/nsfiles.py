"""Namespace files: scripts and data a flow reads (``namespaceFiles: enabled``, ``read()``).

Where they live in git, as Kestra's git tasks lay them out (SyncNamespaceFiles'
``gitDirectory`` default is ``_files``, docs/anchors.md): a ``_files`` directory in the
namespace's folder. ``flows/company/team/_files/etl/load.py`` (nested layout) or
``flows/company.team/_files/etl/load.py`` (dotted) is the file ``/etl/load.py`` of namespace
``company.team``. Other layouts: ``namespace_files: {company.team: scripts/team}`` in the
config. ``.kestraignore`` in the flow directory applies to `_files` too. Names starting with
``.git`` (``.gitkeep``, ``.gitignore``, ``.gitattributes``, a ``.github/`` folder) are git's own,
never deployed: the scan says which it skipped (``.gitkeep`` aside: git cannot keep an empty
directory without one). A server file the scan would skip (a ``.git*`` name, a path
``.kestraignore`` excludes) is never deleted because git's copy was not read: the plan keeps
it, with a note, and pull does not write a ``.git*`` name (a pulled ``.gitignore`` would change
what git keeps of the repository).

Files are compared by the SHA-256 of their bytes; a text file (UTF-8, no NUL byte) gets a
diff, a binary one only its sizes and hashes, never its content.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PlanError
from ..models import ERROR, WARNING, Diagnostic, FlowRef
from ..rules.validate import SPACE_IN_PATH
from ..source.ignorefile import IGNORE_FILE, IgnoreRules, LayeredRules
from ..source.walk import FILES_DIR, files_overlay_env, walk_files
from .base import (
    DIFF_LIMIT,
    Described,
    KindBase,
    KindClient,
    LocalItem,
    LocalScan,
    RemoteItem,
    Written,
    any_of,
    bad_namespace,
    merge_overlay,
    not_regular_is_an_error,
    second_path_is_an_error,
    source_diff,
)
from .pulling import Pulled, PullFile, PullGroup, PullTarget, escaping

if TYPE_CHECKING:
    from ..models import Change
    from ..source.environments import Overlays

KIND = "file"
GIT_PREFIX = ".git"
SKIPPED_NAMES = (".gitkeep",)  # skipped without a word: expected in any `_files` tree
GIT_NOTE = "names starting with .git (.gitignore, .github/...) are git's own, never deployed"
MAX_NAME = 255  # NamespaceFileController.MAX_FILE_NAME_LENGTH (develop)
CHUNK = 1 << 20  # bytes read at a time when hashing
# A space in a path: Kestra before 2.0 stores it as '+' (knowledge.NSFILE_SPACE_AS_PLUS). The
# scan knows no version: rules/validate.py judges this warning for the target version.


def _wanted_file(name: str) -> bool:
    return not name.startswith(GIT_PREFIX)


def _entered_dir(name: str) -> bool:
    return not name.startswith(GIT_PREFIX)


def git_owned(path: str) -> bool:
    """Whether a namespace-file path has a part the scan never reads (``/.github/x.yml``)."""
    return any(part.startswith(GIT_PREFIX) for part in path.strip("/").split("/"))


def never_read(rules: LayeredRules | None):
    """Why the scan of a `_files` tree matched by ``rules`` never reads a server path, or None:
    such a server file is kept, not deleted as missing from git."""

    def why(path: str) -> str | None:
        if git_owned(path):
            return f"the scan never reads it ({GIT_NOTE})"
        if rules is not None:
            parts = path.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                if rules.ignored("/".join(parts[:i]), is_dir=i < len(parts)):
                    return "the scan never reads it (.kestraignore excludes its path)"
        return None

    return why


def _no_file(name: str) -> bool:
    return False


def _visible(name: str) -> bool:
    return not name.startswith(".")


def _is_files_dir(name: str) -> bool:
    return name == FILES_DIR


def digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class LocalFile:
    """A namespace file in git, by reference: hashed in chunks when scanned (validate and plan
    hold no file's bytes), read whole only to upload it, to save it in a plan or to diff a
    small text file, and then only if its bytes still have the digest that was planned."""

    path: Path
    size: int
    digest: str
    text: bool

    @classmethod
    def hash(cls, path: Path, limit: int) -> LocalFile | None:
        """Hash ``path`` reading at most ``limit + 1`` bytes; None when it holds more."""
        sha = hashlib.sha256()
        utf8 = codecs.getincrementaldecoder("utf-8")()
        text, size = True, 0
        with open(path, "rb") as stream:
            while chunk := stream.read(min(CHUNK, limit + 1 - size)):
                size += len(chunk)
                if size > limit:
                    return None
                sha.update(chunk)
                if text:
                    text = _still_text(utf8, chunk)
        if text:
            text = _still_text(utf8, b"", final=True)
        return cls(path, size, "sha256:" + sha.hexdigest(), text)

    def read(self) -> bytes:
        """The bytes planned, or an error when the file changed since (never upload a content
        the reviewer did not see)."""
        try:
            with open(self.path, "rb") as stream:
                content = stream.read(self.size + 1)
        except OSError as err:
            raise PlanError(
                f"{self.path}: cannot read: {err.strerror}; it was not uploaded"
            ) from None
        if len(content) != self.size or digest(content) != self.digest:
            raise PlanError(
                f"{self.path} changed since the plan was made: it was not uploaded",
                hint="run the plan again and review the new content",
            )
        return content


def _still_text(decoder: Any, chunk: bytes, final: bool = False) -> bool:
    if b"\x00" in chunk:
        return False
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError:
        return False
    return True


def content_of(payload: Any) -> bytes:
    """A change's bytes: a ``LocalFile`` read now (digest checked), or bytes (a saved plan's,
    a server's)."""
    return payload.read() if isinstance(payload, LocalFile) else payload


def _size(n: int) -> str:
    return f"{n:,} byte{'s' if n != 1 else ''}"


def refused_path(path: str) -> str | None:
    """Why Kestra would refuse this namespace-file path (NamespaceFileController), or why
    kestra-sync does, or None."""
    from ..report.escape import control_characters

    found = control_characters(path)
    if found:
        # Kestra stores such a name, but no report can show it as it is: a line break or a
        # terminal sequence in a name would rewrite the plan a reviewer reads.
        return (
            f"the name holds control characters ({', '.join(found)}), which no plan, log or "
            "pull-request comment can show as they are; rename the file"
        )
    if path == "/_flows" or path.startswith("/_flows/"):
        return "Kestra refuses namespace files under /_flows (it is reserved for flows)"
    if "/.." in path or "../" in path:
        # StorageInterface.parentTraversalGuard (kestra-io/kestra core/src/main/java/io/
        # kestra/core/storages/StorageInterface.java at 4b8612c3): a 422, whatever follows.
        return "Kestra refuses a path holding `/..` or `../` (a name starting or ending with '..')"
    for part in path.strip("/").split("/"):
        if len(part) > MAX_NAME:
            return f"a file or folder name is longer than {MAX_NAME} characters"
    return None


@dataclass
class _OneFolder:
    """The settings a namespace-file scan of one overlay folder needs: no flow directory, and
    the folder mapped to its namespace (as `namespace_files:` maps one)."""

    tenant: str
    namespace: str
    folder: Path
    max_file_size: int
    flow_dir: Path  # whose .kestraignore applies, as to `_files/`

    @classmethod
    def of(cls, tenant: str, directory: Path, folder: Path, max_file_size: int) -> _OneFolder:
        namespace = folder.parent.relative_to(directory).as_posix().replace("/", ".")
        return cls(tenant, namespace, folder, max_file_size, directory)

    @property
    def namespace_files(self) -> dict[str, Path]:
        return {self.namespace: self.folder}

    def directories(self) -> dict[str, Path]:
        return {}


# (tenant, namespace, folder, its flow directory's ignore rules, that flow directory)
_Root = tuple[str, str, Path, IgnoreRules | None, Path | None]


class NamespaceFiles(KindBase):
    name = KIND
    noun = "namespace file"
    plural = "namespace files"
    target_word = "PATH"
    target_example = "company.team/etl/load.py"

    def target_id(self, item_id: str) -> str:
        """``file:company.team/etl/load.py`` names ``/etl/load.py``."""
        return item_id.lstrip("/")

    def file_bytes(self, payload: Any) -> bytes | None:
        """A namespace file's bytes are its file's, whole."""
        return content_of(payload)

    # -- git --------------------------------------------------------------------------------

    def scan(self, settings: Any) -> LocalScan:
        scan = LocalScan()
        # (tenant, resolved file) -> (namespace, display path). Per tenant: two tenants may
        # deploy one folder (`tenants: {staging: flows, prod: flows}`), and each gets its files.
        seen: dict[tuple[str, Path], tuple[str, str]] = {}
        roots = self._flow_dir_roots(scan, settings) + self._mapped_roots(scan, settings)
        checks: dict[tuple[str, str], list] = {}
        for tenant, namespace, root, rules_file, flow_dir in roots:
            scan.namespaces.add((tenant, namespace))
            # The flow scan's walker and its guarantees: an unreadable directory, a broken
            # link, a link leaving the flow directory (or the mapped one), a FIFO are errors,
            # so a file the scan could not see is never deleted on the server.
            rules = None
            if rules_file is not None and flow_dir is not None:
                rules = LayeredRules([(root.relative_to(flow_dir).as_posix() + "/", rules_file)])
            checks.setdefault((tenant, namespace), []).append(never_read(rules))
            files = self._walk_root(scan, root, rules, flow_dir)
            for file in files:
                self._add(scan, settings, tenant, namespace, root, file, seen)
        scan.never_read = {ns: any_of(found) for ns, found in checks.items()}
        return scan

    def _flow_dir_roots(self, scan: LocalScan, settings: Any) -> list[_Root]:
        """The ``_files`` directories under each tenant's flow directory."""
        roots: list[_Root] = []
        for tenant, directory in settings.directories().items():
            directory = Path(directory)
            if not directory.is_dir():
                continue
            ignore = IgnoreRules.load(directory / IGNORE_FILE)
            for namespace, files_dir in self._find_files_dirs(scan, directory, ignore):
                roots.append((tenant, namespace, files_dir, ignore, directory))
        return roots

    def _mapped_roots(self, scan: LocalScan, settings: Any) -> list[_Root]:
        """The folders `namespace_files:` maps to a namespace (a bad mapping is an error)."""
        roots: list[_Root] = []
        for namespace, directory in sorted(settings.namespace_files.items()):
            directory = Path(directory)
            why = bad_namespace(namespace)
            if why:
                scan.diagnostics.append(
                    Diagnostic(str(directory), f"namespace_files: {why}", code="nsfile-mapping")
                )
                continue
            if not directory.is_dir():
                scan.diagnostics.append(
                    Diagnostic(
                        str(directory),
                        f"namespace_files maps {namespace} to {directory}, which is not a "
                        "directory",
                        code="nsfile-mapping",
                    )
                )
                continue
            # A mapped folder belongs to the namespace in every tenant deployed, as `_files`
            # under a flow directory shared by several tenants does (a scan of one folder
            # alone, with no flow directory, has its own tenant).
            # An environment's `_files.<env>/`, scanned alone, sits in a flow directory whose
            # .kestraignore it follows as `_files/` does (source/environments.py).
            within = getattr(settings, "flow_dir", None)
            overlay_rules = IgnoreRules.load(within / IGNORE_FILE) if within is not None else None
            for tenant in list(settings.directories()) or [settings.tenant]:
                roots.append((tenant, namespace, directory, overlay_rules, within))
        return roots

    def _walk_root(
        self, scan: LocalScan, root: Path, rules: LayeredRules | None, flow_dir: Path | None
    ) -> list[Path]:
        """The files of one root, with a warning for names never deployed and an error for
        what is not a regular file."""
        skipped: set[str] = set()

        def wanted(name: str) -> bool:
            if _wanted_file(name):
                return True
            if name not in SKIPPED_NAMES:
                skipped.add(name)
            return False

        files, problems = walk_files(
            root,
            rules,
            wanted=wanted,
            enter=_entered_dir,
            boundary=flow_dir if flow_dir is not None else root,
        )
        if skipped:
            scan.diagnostics.append(
                Diagnostic(
                    str(root),
                    f"not deployed: {', '.join(sorted(skipped))} ({GIT_NOTE}); the "
                    "server's files of those names are kept",
                    WARNING,
                    code="nsfile-skipped",
                )
            )
        scan.diagnostics += [
            not_regular_is_an_error(
                d,
                "the server's namespace file of that name can be neither compared nor kept "
                "from --delete; replace it with a regular file (or remove it, and --delete "
                "then removes the server's file too)",
                "nsfile-not-a-file",
            )
            for d in problems
        ]
        return files

    def _find_files_dirs(
        self, scan: LocalScan, directory: Path, ignore: IgnoreRules
    ) -> list[tuple[str, Path]]:
        """(namespace, path) of each ``_files`` directory of a flow directory, found by the
        flow scan's walker: links are followed by the same rule (a link leaving the flow
        directory, a broken link, an unreadable folder are errors, so a `_files` the scan
        could not reach never lets --delete empty the server's copy), and what
        ``.kestraignore`` excludes (`drafts/`) is not entered."""
        found, problems = walk_files(
            directory, ignore, wanted=_no_file, enter=_visible, collect_dir=_is_files_dir
        )
        out: list[tuple[str, Path]] = []
        for files_dir in found:
            rel = files_dir.parent.relative_to(directory).as_posix()
            why = (
                "a _files directory must sit in a namespace's folder (flows/company/team/_files), "
                "not at the top of the flow directory"
                if rel == "."
                else bad_namespace(rel.replace("/", "."))
            )
            if why:
                if rel != ".":
                    why = f"the folder of this _files directory names no namespace: {why}"
                scan.diagnostics.append(Diagnostic(str(files_dir), why, code="nsfile-no-namespace"))
                continue
            out.append((rel.replace("/", "."), files_dir))
        scan.diagnostics += [
            second_path_is_an_error(d, out, "namespace files", "nsfile-two-namespaces")
            for d in problems
        ]
        return out

    def _add(self, scan, settings, tenant, namespace, root, file, seen) -> None:
        shown = str(file)
        remote_path = "/" + file.relative_to(root).as_posix()
        key = (tenant, file.resolve())
        if key in seen:
            if seen[key][0] != namespace:
                scan.diagnostics.append(
                    Diagnostic(
                        shown,
                        f"this file is mapped to two namespaces, {seen[key][0]} and {namespace}",
                        code="nsfile-two-namespaces",
                    )
                )
            return  # the same file reached twice for one namespace: once is enough
        seen[key] = (namespace, shown)
        why = refused_path(remote_path)
        if why:
            scan.diagnostics.append(
                Diagnostic(shown, f"{remote_path}: {why}", code="nsfile-path", severity=ERROR)
            )
            return
        if " " in remote_path:
            scan.diagnostics.append(
                Diagnostic(
                    shown, f"{remote_path}: a space in the path", WARNING, code=SPACE_IN_PATH
                )
            )

        def too_large(size: int) -> None:
            scan.diagnostics.append(
                Diagnostic(
                    shown,
                    f"{_size(size)}, over the server's upload limit of "
                    f"{_size(settings.max_file_size)} (max_file_size)",
                    code="nsfile-too-large",
                )
            )

        size = file.stat().st_size
        if size > settings.max_file_size:
            too_large(size)
            return
        try:
            local = LocalFile.hash(file, settings.max_file_size)
        except OSError as err:
            scan.diagnostics.append(
                Diagnostic(shown, f"cannot read: {err.strerror}", code="nsfile-unreadable")
            )
            return
        if local is None:  # it grew past the limit while it was read
            too_large(settings.max_file_size + 1)
            return
        scan.items.append(
            LocalItem(FlowRef(tenant, namespace, remote_path, KIND), shown, local, local.digest)
        )

    # -- environments -----------------------------------------------------------------------

    def overlay(
        self, scan: LocalScan, overlays: Overlays, settings: Any, problems: list[Diagnostic]
    ) -> None:
        """Each `_files.<env>/` of the selected environment replaces or adds files, path by
        path, in the namespace of the folder it sits in (read by this scan's own rules)."""
        for tenant, directory, path in overlays.files:
            if files_overlay_env(path.name) == settings.environment:
                own = self.scan(_OneFolder.of(tenant, directory, path, settings.max_file_size))
                problems += own.diagnostics
                merge_overlay(scan, own)

    def overlay_problems(self, overlays: Overlays, settings: Any) -> list[Diagnostic]:
        return [
            d
            for tenant, directory, path in overlays.files
            for d in self.scan(
                _OneFolder.of(tenant, directory, path, settings.max_file_size)
            ).diagnostics
        ]

    # -- server -----------------------------------------------------------------------------

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        """One request: the namespace's export zip."""
        files = client.export_namespace_files(namespace)
        return [
            RemoteItem(FlowRef(tenant, namespace, path, KIND), content, digest(content))
            for path, content in sorted(files.items())
        ]

    def write(self, client: KindClient, change: Change) -> Written:
        client.put_namespace_file(change.ref.namespace, change.ref.id, content_of(change.payload))
        return Written("created" if change.action == "create" else "updated")

    def delete(self, client: KindClient, change: Change) -> Written:
        client.delete_namespace_file(change.ref.namespace, change.ref.id)
        return Written("deleted")

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        """Each namespace's files under its `_files` (or the folder `namespace_files:` maps it
        to), byte for byte; a `.git*` name is git's own: never written, the server's copy
        stays."""
        pulled = Pulled()
        by_namespace: dict[str, dict[str, bytes]] = {}
        for item in items:
            by_namespace.setdefault(item.ref.namespace, {})[item.ref.id] = item.payload
        for namespace, files in sorted(by_namespace.items()):
            pulled.refused += _refused_pulls(namespace, files, target)
            pulled.groups.append(_pull_group(namespace, files, target))
        return pulled

    # -- reports ----------------------------------------------------------------------------

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described:
        if local is None and remote is not None:
            kind = "text" if is_text(remote.payload) else "binary"
            return Described([f"{kind}, {_size(len(remote.payload))}"])
        assert local is not None
        payload = local.payload
        new_size = payload.size if isinstance(payload, LocalFile) else len(payload)
        new_text = payload.text if isinstance(payload, LocalFile) else is_text(payload)
        if remote is None:
            return Described([f"{'text' if new_text else 'binary'}, {_size(new_size)}"])
        old: bytes = remote.payload
        if not (is_text(old) and new_text):
            return Described(
                [
                    f"binary file changed: {_size(len(old))} -> {_size(new_size)} "
                    f"({remote.digest[:19]} -> {(local.digest or '')[:19]})"
                ]
            )
        if len(old) + new_size > DIFF_LIMIT:
            return Described([f"text file changed: {_size(len(old))} -> {_size(new_size)}"])
        new = content_of(payload).decode("utf-8")
        label = f"server {local.ref.namespace}{local.ref.id}"
        text = source_diff(old.decode("utf-8"), new, label, local.path)
        # Never None: the sizes were checked above, before the file was read.
        if not text:  # same lines, other line endings or final newline
            return Described(["line endings or final newline changed"])
        return Described([], text)

    # -- saved plan -------------------------------------------------------------------------

    def encode(self, payload: Any) -> Any:
        return base64.b64encode(content_of(payload)).decode("ascii")

    def decode(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise ValueError("a namespace file's payload must be base64 text")
        return base64.b64decode(data.encode("ascii"), validate=True)

    def payload_digest(self, payload: Any) -> str:
        return digest(content_of(payload))


# -- pull -----------------------------------------------------------------------------------


def files_root(target: PullTarget, namespace: str) -> tuple[Path, Path]:
    """(where a namespace's files go, the directory nothing may be written outside of): the
    configured mapping, else `_files` in the namespace's folder."""
    mapping = target.settings.namespace_files
    if namespace in mapping:
        root = Path(mapping[namespace])
        return root, root
    return target.folder(namespace) / FILES_DIR, target.directory


def _refused_pulls(namespace: str, files: dict[str, bytes], target: PullTarget) -> list[str]:
    """A name validate refuses, or a path that leaves the directory: the pull writes nothing."""
    from ..report.escape import control_characters

    root, confine = files_root(target, namespace)
    named = [
        f"{namespace} file {remote}: its name holds control characters, which validate "
        "refuses; rename it on the server"
        for remote in sorted(files)
        if control_characters(remote)
    ]
    wanted = [path for path in files if not git_owned(path)]
    return named + [
        f"{namespace} file {remote}: it would be written outside {root}"
        for remote in escaping(wanted, root, confine)
    ]


def _pull_group(namespace: str, files: dict[str, bytes], target: PullTarget) -> PullGroup:
    root, confine = files_root(target, namespace)
    skipped = sorted(path for path in files if git_owned(path))
    group = PullGroup(
        lines=[
            f"skipped    {namespace} file {remote}: a name starting with .git is git's own, "
            "never deployed from _files; the server's copy stays"
            for remote in skipped
        ]
    )
    for remote, content in sorted(files.items()):
        if remote not in skipped:
            path = root / remote.lstrip("/")
            group.files.append(PullFile(path, content, f"{namespace} file", confine=confine))
    more = f", {len(skipped)} skipped" if skipped else ""
    group.summary = lambda written, unchanged, kept: (
        f"Pulled {len(files)} namespace file(s) of {namespace}: {written} written, "
        f"{unchanged} unchanged, {kept} kept{more}."
    )
    return group
