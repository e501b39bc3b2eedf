"""When git's flow and the server's are "the same" for a plan, and the text a diff shows.

Kestra's own rule is ``knowledge.same_source``: the stored text byte for byte, without its
first ``revision: N`` line. A plan relaxes it for two differences that checkouts and editors
make without anyone meaning a change: line endings (git's ``autocrlf``) and whitespace at the
end of lines or of the file. It does so only where that provably cannot change the flow:
whitespace at the end of a line inside a literal or folded block scalar (``message: |``) is
part of the value Kestra stores and runs, and so is a final newline under ``|+``. So when two
sources differ only in such whitespace, both are parsed with the flows' own reader
(``source.yamlindex``) and called the same only when they parse to the same data; otherwise
the plan shows an update.
"""

from __future__ import annotations

from ..rules.knowledge import same_source, source_without_revision
from ..source.yamlindex import parse_yaml


def normalize_source(text: str) -> str:
    """The text whitespace-only differences are looked for on: LF line endings, no first
    ``revision:`` line, no whitespace at the end of lines or of the text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = source_without_revision(text)
    return "\n".join(line.rstrip() for line in text.split("\n")).rstrip("\n")


def sources_equal(local: str, server: str) -> bool:
    """Whether a plan leaves the server's flow as it is (see the module's docstring)."""
    if same_source(local, server):  # the common case of a plan in sync: no parse
        return True
    if normalize_source(local) != normalize_source(server):
        return False
    return _parses_the_same(local, server)


def _parses_the_same(a: str, b: str) -> bool:
    first = parse_yaml(source_without_revision(a))
    second = parse_yaml(source_without_revision(b))
    if first.problems or second.problems:
        return False  # nothing to prove it by: the server's text is kept only when provable
    return first.data == second.data


def diff_text(source: str) -> str:
    """The text a diff shows: LF line endings, without the first ``revision:`` line. When two
    sources differ only in trailing whitespace that matters, ``normalize_source`` would hide
    the difference; ``plan.unified_diff`` then falls back to this."""
    return source_without_revision(source.replace("\r\n", "\n").replace("\r", "\n"))
