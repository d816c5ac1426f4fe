"""Text from outside made safe to print: one line, control characters escaped.

Everything recon prints that a server or a file supplied (an error detail, a userName, a
header) goes through :func:`one_line`, so it cannot break a log into several lines, move the
cursor, recolour the terminal or hide text (ANSI/OSC escapes, bidi overrides).
"""

from __future__ import annotations

import re

__all__ = ["one_line"]

# C0 controls, DEL, C1 controls, and the Unicode format characters that reorder or hide text
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def one_line(text: str, limit: int = 4000) -> str:
    """``text`` on one line with control characters escaped (``\\n``, ``\\x1b``), at most ``limit`` chars."""
    safe = _UNSAFE.sub(_escape, text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"
