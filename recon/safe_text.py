"""Text from outside made safe to print: one line, control characters escaped.

Everything recon prints that a server or a file supplied (an error detail, a userName, a
header) goes through :func:`one_line`, so it cannot break a log into several lines, move the
cursor, recolour the terminal or hide text (ANSI/OSC escapes, bidi overrides).
"""

from __future__ import annotations

import re

from recon.errors import ConfigError

__all__ = ["check_token", "one_line"]

# C0 controls, DEL, C1 controls, line/paragraph separators and the bidi marks, embeddings, overrides
# and isolates that reorder text (zero-width joiners stay: scripts such as Persian need them)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def one_line(text: str, limit: int = 4000) -> str:
    """``text`` on one line with control characters escaped (``\\n``, ``\\x1b``), at most ``limit`` chars."""
    safe = _UNSAFE.sub(_escape, text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


_TOKEN = re.compile(r"[\x21-\x7e]+")


def check_token(token: str, where: str) -> str:
    """``token`` if it can travel in an HTTP header as it is: visible ASCII, no spaces or line breaks.

    Anything else (an embedded line break, a non-ASCII character, a control character) is refused
    with :class:`~recon.errors.ConfigError` naming ``where`` and the position, never the token:
    an HTTP library would otherwise fail with the header, token included, in its message.
    """
    if _TOKEN.fullmatch(token):
        return token
    bad = next((i for i, c in enumerate(token) if not _TOKEN.fullmatch(c)), 0)
    kind = (
        "a space"
        if token[bad] == " "
        else "a line break"
        if token[bad] in "\r\n"
        else (
            "a control character"
            if ord(token[bad]) < 0x20 or ord(token[bad]) == 0x7F
            else "a non-ASCII character"
        )
    )
    return _refuse(where, kind, bad)


def _refuse(where: str, kind: str, position: int) -> str:
    raise ConfigError(
        f"{where} holds {kind} at character {position + 1}; a bearer token is visible ASCII only "
        "(check the variable or file for a pasted line break or quote)"
    )
