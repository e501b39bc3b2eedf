"""Escaping for every place kestra-sync writes text that came from git or a server (a flow id,
a namespace-file path, a KV key, a server's error message): one function per format, used by
every renderer, so a name can change what it is shown as, never what the output does.

- Terminal and log lines (``line``): a control character (C0, DEL, C1 such as the 8-bit CSI
  0x9b), a Unicode format character (bidirectional overrides that reorder what is read, zero
  width characters) or a line or paragraph separator is shown as a ``\\x1b``/``\\u202e``
  escape. So no name ends a line (``\\n::error::`` in a CI log), moves the cursor or sets a
  window title or a link (CSI and OSC sequences start with ESC or 0x9b); and ``##[``, the
  GitHub runner's older command form, which it finds anywhere in a line (ActionCommand.TryParse
  in actions/runner), is shown as ``#\\x23[``. ``block`` keeps the line breaks and tabs of
  multi-line text (a diff) and escapes the rest, line by line.
- Markdown (``md_text`` for text in a table cell or a paragraph, ``md_code`` for a name shown as
  code): what ``line`` escapes, then every ASCII punctuation character that Markdown or GitHub
  gives a meaning inline (emphasis, links and images, HTML, tables' ``|``, ``@mentions``,
  ``#123`` references, math) is backslash-escaped (CommonMark: any ASCII punctuation may be),
  and a list marker at the start. With no line break left, nothing from git or a server can
  start a line of its own, so block syntax (``> [!NOTE]``, headings) never applies.
- GitHub workflow commands (``command_data``, ``command_property``): the runner's own escapes
  (``%``, CR, LF; in properties also ``:`` and ``,``), after ``line``'s, so a message cannot
  carry a terminal sequence into the log either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


# Control characters for sure, and any non-ASCII one (whose Unicode category decides).
_CANDIDATE = re.compile(r"[\x00-\x1f\x7f-\U0010ffff]")


def _escape(text: str, keep: str = "") -> str:
    def shown(match: re.Match) -> str:
        char = match.group()
        # Cc: C0, DEL, C1 (NEL, the 8-bit CSI 0x9b...); Cf: bidi overrides, zero width
        # characters; Zl/Zp: separators some renderers take as line breaks.
        if char in keep or unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp"):
            return char
        if char in _NAMED:
            return _NAMED[char]
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CANDIDATE.sub(shown, text)


def _no_old_commands(text: str) -> str:
    # The runner also reads an older command form, `##[error]...`, anywhere in a line.
    return text.replace("##[", "#\\x23[") if "##[" in text else text


def control_characters(text: str) -> list[str]:
    """The characters of ``text`` that ``line`` would escape, as it shows them (for a
    validation message that refuses a name holding one)."""
    shown = _escape(text)
    return sorted({m.group() for m in re.finditer(r"\\(?:[nrt]|x[0-9a-f]{2}|u[0-9a-f]{4})", shown)})


def json_text(text: str) -> str:
    """JSON as ``json.dumps(..., ensure_ascii=False)`` writes it, with the characters ``line``
    escapes (left raw by that option from DEL on: C1 controls, bidi overrides) and the ``[`` of
    ``##[`` written as ``\\uXXXX``. Outside strings JSON is ASCII and never holds ``##[``, so
    this is always the same document."""

    def escaped(match: re.Match) -> str:
        char = match.group()
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return "".join(f"\\u{unit:04x}" for unit in _utf16(char))
        return char

    text = re.sub(r"[\x7f-\U0010ffff]", escaped, text)
    # `##[` occurs only inside strings too: written `##\u005b`, the runner's older command
    # form cannot be read from a JSON document printed to a CI log.
    return text.replace("##[", "##\\u005b") if "##[" in text else text


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def line(text: object) -> str:
    """``text`` as one line of a terminal or a log, every control character visible."""
    return _no_old_commands(_escape(str(text)))


def block(text: str) -> str:
    """Multi-line ``text`` (a diff, a message over several lines): line breaks and tabs are
    kept, every other control character is made visible as by ``line`` (CR included)."""
    return _no_old_commands(_escape(text, keep="\n\t"))


# ASCII punctuation with a meaning inline in CommonMark, GitHub Flavored Markdown or GitHub's
# own extensions: emphasis, code, links and images, HTML and entities, tables' `|`,
# strikethrough, @mentions, #123 references, $math$. `:emoji:` is harmless and left alone.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~@#!&$])")
# At the start of a line (a blockquote's text): a list item or a thematic break.
_MD_LEAD = re.compile(r"^(\s*)([-+=]|\d+[.)])")


def _md_plain(text: str, at_start: bool) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", text)
    if at_start:
        text = _MD_LEAD.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)
    return text


_CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def md_text(text: object) -> str:
    """``text`` as inline Markdown that renders as exactly these characters, except that a
    `code span` stays one (messages name settings that way). Inside a code span Markdown
    means nothing, so one that came from a server is as harmless as escaped text."""
    text = _escape(str(text))
    out, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_md_plain(text[last : match.start()], last == 0))
        out.append(md_code(match.group(2)))
        last = match.end()
    out.append(_md_plain(text[last:], last == 0))
    return "".join(out)


def md_code(text: object) -> str:
    """A name as an inline code span: a fence longer than any backtick run in it, and ``|``
    escaped (a table cell ends at ``|`` even inside a code span; GFM reads ``\\|`` there)."""
    text = _escape(str(text)).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_fence(text: str) -> str:
    """A code fence longer than any backtick run in ``text`` (a block of text from git or a
    server, such as a diff, would otherwise end the block early)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def command_data(text: object) -> str:
    """The message part of a workflow command (``::error::MESSAGE``), as the runner unescapes
    it (ActionCommand in actions/runner: ``%25``, ``%0D``, ``%0A``)."""
    text = _escape(str(text), keep="\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text: object) -> str:
    """A property value of a workflow command (``file=...,title=...``)."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")


def in_github_log(text: str, env: Mapping[str, str] | None = None) -> str:
    """Text for stdout, made inert for a GitHub Actions log when it runs in one: the runner
    reads a workflow command from any line that starts with ``::`` after its leading spaces
    (an indented diff line of a flow that echoes ``::error::``), so the whole text goes
    between ``::stop-commands::`` markers, as the Action does with what it echoes."""
    import os
    import uuid

    if (os.environ if env is None else env).get("GITHUB_ACTIONS") != "true" or not text:
        return text
    token = uuid.uuid4().hex
    end = "" if text.endswith("\n") else "\n"
    return f"::stop-commands::{token}\n{text}{end}::{token}::\n"
