"""PCRE patterns for the gateway's NGINX maps, built so that policy text can never change their meaning."""

from __future__ import annotations

import re

from airgapctl.errors import BadInputError

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def literal_pattern(text: str) -> str:
    """A PCRE fragment matching exactly ``text``: every other byte becomes ``\\xHH``.

    Hex escapes survive NGINX's quoting unchanged and leave no metacharacter, quote or ``$`` behind.
    """
    return "".join(chr(b) if chr(b) in _ALNUM else f"\\x{b:02x}" for b in text.encode("utf-8"))


def subject_pattern(subject: str) -> str:
    """Match ``$ssl_client_verify|$ssl_client_s_dn`` for one verified subject, case-sensitively.

    NGINX map exact keys compare case-insensitively, so identity uses an anchored regex instead.
    """
    return f"^SUCCESS\\|{literal_pattern(subject)}$"


def media_type_pattern(content_types: list[str]) -> str | None:
    """The tail of a pattern matching a Content-Type whose media type is one of ``content_types``.

    Parameters are ignored; ``type/*`` and ``*/*`` are wildcards; the map entry using this is
    case-insensitive (``~*``). Not anchored at the start: the caller prefixes what precedes the
    header in its map key. None when the list is empty: then no body is acceptable.
    """
    alternatives = []
    for media_type in content_types:
        main, _, sub = media_type.strip().lower().partition("/")
        main_part = "[^/;\\s]+" if main == "*" else literal_pattern(main)
        sub_part = "[^;\\s]+" if sub == "*" else literal_pattern(sub)
        alternatives.append(f"{main_part}/{sub_part}")
    if not alternatives:
        return None
    return f"\\s*(?:{'|'.join(alternatives)})\\s*(?:;.*)?$"


def route_pattern(regex: str, where: str) -> str:
    """The operation regex as NGINX may use it: anchored, with named groups made non-capturing.

    Named captures in an NGINX map become variables, so a group called ``uri`` or ``gw_client`` would
    overwrite ours; the gateway does not need the parameter values, only the match.
    """
    if not (regex.startswith(("^", "\\A")) and _ends_anchored(regex)):
        raise BadInputError(f"{where}: regex {regex!r} is not anchored with ^ and $")
    return _strip_named_groups(regex, where)


def _ends_anchored(regex: str) -> bool:
    if regex.endswith("$"):
        return _unescaped_at(regex, len(regex) - 1)
    if regex.endswith(("\\z", "\\Z")):
        return _unescaped_at(regex, len(regex) - 2)
    return False


def _unescaped_at(text: str, index: int) -> bool:
    """True when the character at ``index`` is not escaped by an odd run of backslashes."""
    backslashes = len(text[:index]) - len(text[:index].rstrip("\\"))
    return backslashes % 2 == 0


def _strip_named_groups(regex: str, where: str) -> str:
    """Rewrite ``(?P<n>``, ``(?<n>`` and ``(?'n'`` outside character classes to ``(?:``."""
    out: list[str] = []
    i = 0
    while i < len(regex):
        if regex[i] == "\\":
            if re.fullmatch(r"\\[1-9gk]", regex[i : i + 2]):
                raise BadInputError(f"{where}: regex {regex!r} uses a back-reference, which the gateway cannot keep")
            out.append(regex[i : i + 2])
            i += 2
        elif regex[i] == "[":
            end = _class_end(regex, i)
            out.append(regex[i:end])
            i = end
        elif regex.startswith(("(?P<", "(?<", "(?'"), i) and not regex.startswith(("(?<=", "(?<!"), i):
            i = _skip_group_name(regex, i, where)
            out.append("(?:")
        elif regex.startswith(("(?P=", "(?P>", "(?&"), i):
            raise BadInputError(f"{where}: regex {regex!r} refers to a named group, which the gateway cannot keep")
        else:
            out.append(regex[i])
            i += 1
    return "".join(out)


def _class_end(regex: str, start: int) -> int:
    """Index just after the character class opening at ``start`` (escapes and [:posix:] names included)."""
    i = start + 1
    if regex.startswith("^", i):
        i += 1
    if regex.startswith("]", i):
        i += 1  # a ']' first in the class is a member, not its end
    while i < len(regex):
        if regex[i] == "\\":
            i += 2
        elif regex.startswith("[:", i) and regex.find(":]", i + 2) >= 0:
            i = regex.find(":]", i + 2) + 2
        elif regex[i] == "]":
            return i + 1
        else:
            i += 1
    return len(regex)


def _skip_group_name(regex: str, start: int, where: str) -> int:
    """Index just after ``(?P<name>``, ``(?<name>`` or ``(?'name'`` starting at ``start``."""
    opener = "(?P<" if regex.startswith("(?P<", start) else regex[start : start + 3]
    closer = "'" if opener == "(?'" else ">"
    name_start = start + len(opener)
    end = regex.find(closer, name_start)
    if end < 0 or not _GROUP_NAME.fullmatch(regex[name_start:end]):
        raise BadInputError(f"{where}: regex {regex!r} has a malformed named group")
    return end + 1


# Characters a route regex may hold unescaped that PCRE reads as themselves (outside classes).
_PLAIN_LITERAL = _ALNUM | frozenset("/_-")
# Escaped, any ASCII punctuation is itself in PCRE; an escaped letter or digit is a class, a
# reference or an option, and ends the literal text.
_ESCAPED_LITERAL = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def literal_prefix(pattern: str) -> str:
    """Text that every string the anchored ``pattern`` matches starts with; '' when it cannot tell.

    Never too long, possibly too short: it stops at the first character that is not plainly itself
    (a group, a class, an option, an anchor), drops a character a quantifier makes optional, and is
    '' when the pattern alternates at the top level.
    """
    if pattern.startswith("^"):
        i = 1
    elif pattern.startswith("\\A"):
        i = 2
    else:
        return ""
    if _alternates(pattern):
        return ""
    literal: list[str] = []
    while i < len(pattern):
        char = pattern[i]
        if char in _PLAIN_LITERAL:
            literal.append(char)
            i += 1
        elif char == "\\" and pattern[i + 1 : i + 2] in _ESCAPED_LITERAL and i + 1 < len(pattern):
            literal.append(pattern[i + 1])
            i += 2
        else:
            if char in "?*+{" and literal:
                literal.pop()
            break
    return "".join(literal)


def _alternates(pattern: str) -> bool:
    """True when ``pattern`` has a '|' outside every group and character class."""
    depth, i = 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "|" and depth == 0:
            return True
        i += 1
    return False
