"""How Kestra reads a flow source as YAML (``GenericFlow.fromYaml``, ``YamlParser``, Jackson's
strict duplicate detection) and the exact texts of its parse errors. The Jackson/SnakeYAML message
texts were probed with jackson-dataformat-yaml 2.17.2 + SnakeYAML 2.2 (Kestra ships a newer
Jackson: the ``[Source: ...]`` part of the location may differ). Pure: no I/O, no state."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import ConstraintViolations, Violation

SOURCE_LOCATION = "(StringReader)"  # Jackson 2.17 "[Source: ...]" text for a String input


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys like Jackson's STRICT_DUPLICATE_DETECTION."""


class _DuplicateKey(Exception):
    def __init__(self, key: str, mark: Any):
        super().__init__(key)
        self.key = key
        self.mark = mark


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hashable = key in seen
        except TypeError:
            continue
        if hashable:
            raise _DuplicateKey(str(key), key_node.end_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


def _construct_text(loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.ScalarNode) -> Any:
    return loader.construct_scalar(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Jackson reads timestamps and other tagged scalars as strings in maps: keep them as text.
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)


def _snake_mark(mark: Any) -> str:
    """SnakeYAML's mark rendering: `` in 'reader', line L, column C:`` plus snippet and caret."""
    text = f" in 'reader', line {mark.line + 1}, column {mark.column + 1}:"
    snippet = mark.get_snippet(indent=4, max_length=75) if mark.buffer is not None else None
    return text + ("\n" + snippet if snippet else "")


def _yaml_error_message(err: yaml.MarkedYAMLError) -> tuple[str, int]:
    parts = []
    if err.context:
        parts.append(err.context)
    if err.context_mark is not None and (
        err.problem_mark is None
        or err.context_mark.line != err.problem_mark.line
        or err.context_mark.column != err.problem_mark.column
    ):
        parts.append(_snake_mark(err.context_mark))
    if err.problem:
        parts.append(err.problem)
    if err.problem_mark is not None:
        parts.append(_snake_mark(err.problem_mark))
    mark = err.problem_mark or err.context_mark
    line = mark.line + 1 if mark else 1
    col = mark.column + 1 if mark else 1
    msg = "\n".join(parts) + f"\n\n at [Source: {SOURCE_LOCATION}; line: {line}, column: {col}]"
    return msg, line


def friendly_yaml_error(message: str, line: int | None) -> str:
    """``YamlParser.formatYamlErrorMessage`` (Kestra >= 1.2), applied to a Jackson message."""
    if "Expected a field name" in message:
        out = "YAML syntax error: Invalid structure. Check indentation and ensure all fields are properly formatted."
    elif "MappingStartEvent" in message:
        out = "YAML syntax error: Unexpected mapping start. Verify that scalar values are properly quoted if needed."
    elif "Scalar value" in message:
        out = "YAML syntax error: Expected a simple value but found complex structure. Check for unquoted special characters."
    else:
        out = "YAML parsing error: " + re.sub(r"org\.yaml\.snakeyaml.*", "", message).strip()
    if line is not None:
        out += f" (at line {line})"
    return out


def _illegal_source(resource: str, jackson_message: str, line: int | None) -> ConstraintViolations:
    friendly = friendly_yaml_error(jackson_message, line)
    # YamlParser.toConstraintViolationException: explicit message, one violation at path "yaml"
    return ConstraintViolations(
        [Violation("yaml", friendly)], message=f"Illegal {resource} source: {friendly}"
    )


def _end_position(source: str) -> tuple[int, int]:
    lines = source.split("\n")
    return len(lines), len(lines[-1]) + 1


_JAVA_SCALAR = {
    bool: ("boolean/Boolean", "Boolean"),
    int: ("int/Int", "Number"),
    float: ("double/Double", "Number"),
}


def _not_a_mapping(value: Any, cls: str) -> str:
    """Jackson's message when the document is not an object (probed, see module docstring)."""
    where = f"\n at [Source: {SOURCE_LOCATION}; line: 1, column: 1]"
    if isinstance(value, list):
        return f"Cannot deserialize value of type `{cls}` from Array value (token `JsonToken.START_ARRAY`){where}"
    if isinstance(value, str):
        if value == "":
            return f'Cannot coerce empty String ("") to `{cls}` value (but could if coercion was enabled using `CoercionConfig`){where}'
        return f"Cannot construct instance of `{cls}` (although at least one Creator exists): no String-argument constructor/factory method to deserialize from String value ('{value}'){where}"
    for pytype, (ctor, kind) in _JAVA_SCALAR.items():
        if type(value) is pytype:
            shown = str(value).lower() if pytype is bool else str(value)
            return f"Cannot construct instance of `{cls}` (although at least one Creator exists): no {ctor}-argument constructor/factory method to deserialize from {kind} value ({shown}){where}"
    return f"Cannot construct instance of `{cls}`{where}"


# The same rules on libyaml's parser when PyYAML has it: about 10x faster, so the emulator keeps
# up with a client's parallel writes. Any source it cannot load is parsed again by the pure-Python
# loader above, whose marks and messages the Jackson texts below are built from.
# Which class that is is only known at run time (PyYAML built with libyaml or not): Any to mypy.
_FAST_BASE: Any = getattr(yaml, "CSafeLoader", _StrictLoader)


class _FastStrictLoader(_FAST_BASE):
    """_StrictLoader's constructors (added below) on libyaml's parser when PyYAML has it."""


_FastStrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)
_FastStrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)


_NO_PATH_RESOLVERS: dict[Any, Any] = {}


# The fast path below builds the data straight from the composed nodes when every node is
# plain: a block of maps, lists and scalars of the six tags SafeLoader types (timestamps kept as
# text, as above). Anything else -- an alias to a map or list, a merge key, a duplicate or
# unhashable key, another tag -- raises _NotPlain and the loaders above read the source, so the
# data and every error text are theirs. PyYAML's constructor (generators and a state stack per
# node) was most of the emulator's CPU per create: reading bench_apply.py's flow went from about
# 0.6 ms to 0.23 ms, most of which is now libyaml composing the nodes.
class _Composer(_FastStrictLoader):
    """Composes the nodes only, for ``_plain``. Even with libyaml, composing calls three
    resolver hooks through Python for every node; here they are C builtins: ``resolve`` keeps
    its arguments in a slice (kind, value, implicit) for ``_tag`` to decide, only where a tag
    was not written, and the path-resolver hooks do nothing (no path resolver is registered)."""

    resolve = slice
    descend_resolver = _NO_PATH_RESOLVERS.get  # (parent, index) -> None
    ascend_resolver = [].clear  # () -> None


class _NotPlain(Exception):
    """The document needs PyYAML's full constructor (see _Composer)."""


_TAG = "tag:yaml.org,2002:"
_TEXT_TAGS = frozenset({_TAG + "str", _TAG + "timestamp"})
_SCALAR_BUILDERS = {
    _TAG + "int": yaml.constructor.SafeConstructor.construct_yaml_int,
    _TAG + "float": yaml.constructor.SafeConstructor.construct_yaml_float,
    _TAG + "bool": yaml.constructor.SafeConstructor.construct_yaml_bool,
    _TAG + "null": yaml.constructor.SafeConstructor.construct_yaml_null,
}
_SCALAR_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_RESOLVER = yaml.resolver.Resolver()  # SafeLoader's implicit tags
_MAP, _SEQ, _STR = _TAG + "map", _TAG + "seq", _TAG + "str"
_ScalarNode, _MappingNode, _SequenceNode = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode
_PLAIN_TAGS: dict[str, str] = {}  # plain scalar text -> its implicit tag, bounded below


def _tag(node: Any) -> str:
    tag = node.tag
    if tag.__class__ is not slice:
        return tag  # written in the source
    cls = node.__class__
    if cls is not _ScalarNode:
        return _MAP if cls is _MappingNode else _SEQ
    if not tag.step[0]:  # quoted or block: always text
        return _STR
    value = node.value
    found = _PLAIN_TAGS.get(value)
    if found is None:
        if len(_PLAIN_TAGS) > 65_536:
            _PLAIN_TAGS.clear()
        found = _PLAIN_TAGS[value] = _RESOLVER.resolve(_ScalarNode, value, (True, False))
    return found


def _plain(node: Any, seen: set[int]) -> Any:
    cls = node.__class__
    if cls is _ScalarNode:
        tag = _tag(node)
        if tag in _TEXT_TAGS:
            return node.value
        build = _SCALAR_BUILDERS.get(tag)
        if build is None:
            raise _NotPlain
        return build(_SCALAR_CONSTRUCTOR, node)
    if id(node) in seen:  # an alias: PyYAML shares the object, and a recursive one never ends
        raise _NotPlain
    seen.add(id(node))
    tag = _tag(node)
    if cls is _MappingNode and tag == _MAP:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _plain(key_node, seen)
            try:
                if key in out:
                    raise _NotPlain  # a duplicate: the strict loader words the error
            except TypeError:
                raise _NotPlain from None  # an unhashable key
            out[key] = _plain(value_node, seen)
        return out
    if cls is _SequenceNode and tag == _SEQ:
        return [_plain(item, seen) for item in node.value]
    raise _NotPlain


def _load_plain(source: str) -> list[Any] | None:
    """Every document of ``source`` as SafeLoader builds it, or None: not plain, or not YAML."""
    composer = _Composer(source)
    try:
        docs = []
        while composer.check_node():
            docs.append(_plain(composer.get_node(), set()))
        return docs
    except (_NotPlain, yaml.YAMLError, RecursionError):
        return None
    finally:
        composer.dispose()


GENERIC_FLOW_CLASS = "io.kestra.core.models.flows.GenericFlow"
FLOW_WITH_SOURCE_CLASS = "io.kestra.core.models.flows.FlowWithSource"


def load_yaml(source: str, resource: str, cls: str) -> dict[str, Any]:
    """Parse like ``YamlParser.parse(source, cls)``: one mapping document, duplicate keys rejected."""
    docs = _load_plain(source)
    if docs is None:
        try:
            docs = list(yaml.load_all(source, Loader=_FastStrictLoader))
        except Exception:  # noqa: BLE001 - any refusal is re-read below for the exact message
            docs = None
    try:
        if docs is None:
            docs = list(yaml.load_all(source, Loader=_StrictLoader))
    except _DuplicateKey as dup:
        line, col = dup.mark.line + 1, dup.mark.column + 1
        msg = f"Duplicate field '{dup.key}'\n at [Source: {SOURCE_LOCATION}; line: {line}, column: {col}]"
        raise _illegal_source(resource, msg, line) from None
    except yaml.MarkedYAMLError as err:
        msg, line = _yaml_error_message(err)
        raise _illegal_source(resource, msg, line) from None
    except yaml.YAMLError as err:  # pragma: no cover - pyyaml always marks its errors
        raise _illegal_source(resource, str(err), None) from None
    if not docs:
        line, col = _end_position(source)
        msg = f"No content to map due to end-of-input\n at [Source: {SOURCE_LOCATION}; line: {line}, column: {col}]"
        raise _illegal_source(resource, msg, line)
    # Jackson reads the first document only; a second "---" document is ignored (not verified).
    data = docs[0]
    if data is None:
        # An explicitly empty document ("---"). A literal "null"/"~" would make Kestra NPE (500).
        data = ""
    if not isinstance(data, dict):
        raise _illegal_source(resource, _not_a_mapping(data, cls), 1)
    for key in ("id", "namespace", "description"):
        value = data.get(key)
        if isinstance(value, (list, dict)):
            kind = "Array" if isinstance(value, list) else "Object"
            token = "START_ARRAY" if isinstance(value, list) else "START_OBJECT"
            msg = (
                f"Cannot deserialize value of type `java.lang.String` from {kind} value (token `JsonToken.{token}`)"
                f'\n at [Source: {SOURCE_LOCATION}; line: 1, column: 1] (through reference chain: {cls}["{key}"])'
            )
            raise _illegal_source(resource, msg, 1)
    return data


def as_text(value: Any) -> str | None:
    """Jackson coerces scalars to String for String fields (``id: 123`` -> "123")."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
