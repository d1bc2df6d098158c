"""How to write it: hints for the YAML mistakes merchants make most in segment files.

An operator written as a bare value (``total_spent: >= 100``), a tab, a key without its
colon or without a space after it, a value that starts with a character YAML keeps for
itself (``#``, ``@``, ``&``, ``*``, ``|``, ``>``), a list item without a space after its
dash. Each hint shows the line as it should be written, from the line as it is.
"""

from __future__ import annotations

import re

from segcli.rules.operators import SYMBOLS, canonical

# `key: >= 100`, `- key: < 3`, `key: {>= 100}`: an operator where a value belongs.
_BARE_OPERATOR = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?)(?P<key>[\w.]+):\s*\{?\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<value>[^}]*?)"
    r"\s*\}?\s*$"
)
# `key value` or `key = value`: a key without its colon.
_NO_COLON = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?)(?P<key>[\w.]+)\s*(?:=\s*)?(?P<value>[^:\s].*?)\s*$"
)
# `country: in: [FR, DE]`: an operator and its value without braces.
_NESTED_OPERATOR = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?)(?P<key>[\w.]+):\s+(?P<op>\w+):\s*(?P<value>.+?)\s*$"
)
# `key:value`: no space after the colon, so YAML reads one word.
_NO_SPACE = re.compile(r"^(?P<lead>\s*(?:-\s+)?)(?P<key>[\w.]+):(?P<value>\S.*?)\s*$")
# Characters YAML reads as syntax at the start of a plain value.
_RESERVED_STARTS = {
    "#": "starts a comment",
    "@": "is reserved",
    "`": "is reserved",
    "%": "starts a directive",
    "&": "starts an anchor",
    "*": "starts an alias",
    "|": "starts a block of text",
    ">": "starts a block of text",
    "!": "starts a tag",
}


def operator_hint(line: str) -> str | None:
    """``total_spent: >= 100`` → write ``total_spent: {gte: 100}``."""
    match = _BARE_OPERATOR.match(line)
    if match is None or not match["value"]:
        return None
    name = SYMBOLS[match["op"]]
    written = f"{match['lead']}{match['key']}: {{{name}: {match['value']}}}".strip()
    return f"an operator goes inside braces with its value: write '{written}'"


def key_hint(line: str) -> str | None:
    """A key written without its colon, or without a space after it."""
    stripped = line.strip()
    if stripped.startswith("-") and not stripped.startswith("- ") and len(stripped) > 1:
        return f"a list item needs a space after '-': write '- {stripped[1:].lstrip()}'"
    if (match := _NO_SPACE.match(line)) is not None and not match["value"].startswith("//"):
        return f"put a space after ':': write '{match['key']}: {match['value']}'"
    if (match := _NO_COLON.match(line)) is not None:
        return f"a key is followed by ':' and a space: write '{match['key']}: {match['value']}'"
    return None


def reserved_hint(line: str, column: int) -> str | None:
    """A value that starts with a character YAML reads as syntax: quote it."""
    rest = line[column - 1 :] if column >= 1 else ""
    value = rest.strip()
    if not value or value[0] not in _RESERVED_STARTS:
        return None
    # A comment may follow a value; only a value that begins with # is lost to it.
    shown = value.split(" #")[0].rstrip() if value[0] != "#" else value
    return f'{value[0]!r} {_RESERVED_STARTS[value[0]]} in YAML: quote the value, "{shown}"'


def reserved_after_colon(line: str) -> str | None:
    """``tags: #vip``: the value YAML read as nothing, found on its line."""
    match = re.match(r"^\s*(?:-\s+)?[\w.]+:\s+(?=\S)", line)
    return None if match is None else reserved_hint(line, match.end() + 1)


def syntax_hint(problem: str, lines: list[str], line: int) -> str | None:
    """A hint for a YAML syntax error at ``line`` (1-based) of ``lines``."""
    here = lines[line - 1] if 1 <= line <= len(lines) else ""
    before = lines[line - 2] if 2 <= line <= len(lines) + 1 else ""
    if "'\\t'" in problem:
        return "YAML indents with spaces, never tabs: replace the tab with spaces"
    for text in (here, before):
        hint = operator_hint(text)
        if hint is not None:
            return hint
    if "cannot start any token" in problem or "indicators" in problem or "alias" in problem:
        return reserved_after_colon(here)
    if "mapping values are not allowed" in problem:
        nested = _NESTED_OPERATOR.match(here)
        if nested is not None and canonical(nested["op"]) is not None:
            written = f"{nested['lead']}{nested['key']}: {{{nested['op']}: {nested['value']}}}"
            return f"an operator goes inside braces with its value: write '{written.strip()}'"
        if here.count(": ") > 1 or re.match(r"^\s*[\w.]+:\s.*:\s", here):
            key, _, value = here.strip().partition(": ")
            return f"quote a value that holds ': ': write '{key}: \"{value}\"'"
        if before.strip() and ":" not in before and (hint := key_hint(before)) is not None:
            # YAML notices at the next line: the hint names the line to mend.
            return f"line {line - 1}: {hint}"
    if "expected ',' or '}'" in problem or "expected ',' or ']'" in problem:
        return "a '{' or '[' is never closed: close it on the same line"
    if "end of stream" in problem and ("'" in here or '"' in here):
        return "a quote is never closed: end the value with the same quote"
    if "block end" in problem or "block sequence" in problem or "block mapping" in problem:
        return "the items of one list or mapping must start in the same column (spaces only)"
    return None
