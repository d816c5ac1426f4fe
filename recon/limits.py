"""Every bound recon puts on what it reads from files and servers, declared once.

recon reads files and servers it does not control, so every size, depth, count and wait that
comes from outside is bounded here. Each limit has a default that no honest SCIM export comes
near, and an environment variable to raise it (or lower it)::

    RECON_MAX_JSON_DEPTH        nesting of arrays/objects in any JSON text          64
    RECON_MAX_RESOURCE_BYTES    one resource / one NDJSON line / one journal page   128 MiB
    RECON_MAX_RESPONSE_BYTES    one HTTP response body, compressed and decompressed 256 MiB
    RECON_MAX_TOKEN_BYTES       one answer of a token endpoint (Entra, Okta OAuth)   1 MiB
    RECON_RESPONSE_DEADLINE     seconds for a whole HTTP exchange (connect to body) 300
    RECON_MAX_FILTER_TERMS      comparisons in one SCIM filter                      200

What happens over a limit is the caller's rule, always one line naming the file or URL, the
position and the limit: an input file stops with exit code 2; a live page stops the crawl
(the export is then ``partial``, or nothing is published when no page arrived); an over-limit
answer is never asked for again. docs/limits.md lists them with the memory they bound.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields

import pyarrow as pa
import pyarrow.compute as pc

from recon.errors import ConfigError, InputError

__all__ = ["DepthScanner", "LimitExceeded", "Limits", "check_depth", "limits", "size_text"]


class LimitExceeded(InputError):
    """An input went over one of recon's limits (the message names where and which limit)."""


@dataclass(frozen=True)
class Limits:
    """The limits in force (see the module docstring for their environment variables)."""

    max_json_depth: int = 64
    max_resource_bytes: int = 128 * 2**20
    max_response_bytes: int = 256 * 2**20
    max_token_bytes: int = 2**20
    response_deadline: float = 300.0
    max_filter_terms: int = 200


_ENV = {
    "max_json_depth": "RECON_MAX_JSON_DEPTH",
    "max_resource_bytes": "RECON_MAX_RESOURCE_BYTES",
    "max_response_bytes": "RECON_MAX_RESPONSE_BYTES",
    "max_token_bytes": "RECON_MAX_TOKEN_BYTES",
    "response_deadline": "RECON_RESPONSE_DEADLINE",
    "max_filter_terms": "RECON_MAX_FILTER_TERMS",
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def _parse(name: str, env: str, text: str) -> int | float:
    if name == "response_deadline":
        try:
            value: float = float(text)
        except ValueError:
            value = -1.0
        if not 0 < value <= 86_400:
            raise ConfigError(f"{env}={text!r}: give seconds between 0 and 86400")
        return value
    match = _SIZE.fullmatch(text.strip())
    if match is None or (name in ("max_json_depth", "max_filter_terms") and match.group(2)):
        raise ConfigError(
            f"{env}={text!r}: give a whole number{' of bytes, e.g. 512MiB' if 'bytes' in name else ''}"
        )
    number = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    if number < 1 or number > 2**50 or (name == "max_json_depth" and number > 10_000):
        raise ConfigError(f"{env}={text!r}: out of range")
    return int(number)


def limits() -> Limits:
    """The limits in force: the defaults, overridden by their environment variables.

    Read on each call (cheap), so a test or a notebook may change the environment between runs.
    Raises :class:`~recon.errors.ConfigError` for a value that is not a number in range.
    """
    overrides: dict[str, int | float] = {}
    for item in fields(Limits):
        env = _ENV[item.name]
        text = os.environ.get(env)
        if text:
            overrides[item.name] = _parse(item.name, env, text)
    return Limits(**overrides)  # type: ignore[arg-type]


def size_text(count: int) -> str:
    """``count`` bytes for people: ``128 MiB``, ``512 KiB``, ``17 bytes``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


_NOT_MARKS = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_STRING = re.compile(rb'"[^"]*"')
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


class DepthScanner:
    """The nesting depth of a JSON text read in chunks, checked against a limit as it streams.

    Brackets inside strings do not count. The scan runs on bytes at C speed (escapes and strings
    removed by ``bytes.replace`` and one regex, the remaining brackets summed by Arrow), a few
    milliseconds per megabyte, so a file is checked before a parser that nests (or keeps a
    prefix per level, as ijson does: memory grows with the square of the depth) ever sees it.
    """

    def __init__(self, limit: int, where: str) -> None:
        self.limit = limit
        self.where = where
        self.depth = 0
        self.offset = 0  # bytes scanned so far
        self._in_string = False
        self._pending = b""  # a trailing run of backslashes, scanned with the next chunk
        self.item_depth: int | None = None  # with item_limit: bytes spent at or below this depth
        self.item_limit = 0
        self.item_what = "one resource"
        self.item_env = "RECON_MAX_RESOURCE_BYTES"
        self._run = 0  # bytes since the depth last went above item_depth (chunk granularity)

    def feed(self, chunk: bytes) -> None:
        """Scan the next chunk; raises :class:`LimitExceeded` when the depth goes over the limit."""
        start = self.offset
        self.offset += len(chunk)
        text = self._pending + chunk
        stripped = text.rstrip(b"\\")
        self._pending = text[len(stripped) :] if len(text) - len(stripped) else b""
        if b"\\" in stripped:
            # each escape is a backslash and the byte after it, dropped left to right: one regex
            # pass instead of two whole-body replaces (1.9 -> 0.4 ms on a 704 KB page of users)
            stripped = _ESCAPE.sub(b"", stripped)
        # only quotes and brackets matter: a string without brackets becomes '""' and goes
        marks = stripped.translate(None, _NOT_MARKS)
        if self._in_string:
            marks = b'"' + marks
        if b'"' in marks:
            marks = marks.replace(b'""', b"")
            if b'"' in marks:
                marks = _STRING.sub(b"", marks)
        self._in_string = b'"' in marks
        if self._in_string:
            marks = marks[: marks.index(b'"')]
        brackets = marks
        shallowest = self.depth
        if brackets:
            opens = brackets.count(b"[") + brackets.count(b"{")
            if self.depth + opens <= self.limit and self.item_depth is None:
                self.depth += 2 * opens - len(brackets)  # cannot go over: the deepest point is not needed
            else:
                codes = pa.Array.from_buffers(pa.uint8(), len(brackets), [None, pa.py_buffer(brackets)])
                steps = pc.if_else(pc.is_in(codes, pa.array([91, 123], pa.uint8())), 1, -1)
                running = pc.cumulative_sum(pc.cast(steps, pa.int64()))
                extremes = pc.min_max(running).as_py()
                if self.depth + extremes["max"] > self.limit:
                    raise LimitExceeded(
                        f"{self.where}: JSON nested deeper than {self.limit} levels (near byte {start:,}); "
                        "the limit is RECON_MAX_JSON_DEPTH"
                    )
                shallowest = min(self.depth, self.depth + extremes["min"])
                self.depth += int(running[len(running) - 1].as_py())
        if self.item_depth is not None:
            self._run = self._run + len(chunk) if shallowest >= self.item_depth else 0
            if self._run > self.item_limit:
                raise LimitExceeded(
                    f"{self.where}: {self.item_what} is larger than {size_text(self.item_limit)} "
                    f"(near byte {start:,}); the limit is {self.item_env}"
                )


def check_depth(data: bytes, limit: int, where: str) -> None:
    """Raise :class:`LimitExceeded` when the JSON text ``data`` nests deeper than ``limit``."""
    if not _surely_within(data, limit):
        DepthScanner(limit, where).feed(data)  # the exact depth, and where it goes over


_PAIRS = (b"[]", b"{}")


def _surely_within(data: bytes, limit: int) -> bool:
    """True when ``data`` nests at most ``limit`` deep; False when that is not sure (then
    :class:`DepthScanner` decides). For a page of a SCIM list: about a fifth less.

    The brackets outside strings are found as :meth:`DepthScanner.feed` finds them, but no
    running depth is summed: when no string holds a bracket (every quote is next to its pair
    once escapes are gone), the quotes are dropped and the innermost pairs (``[]``, ``{}``)
    removed in turns. One turn (both replaces) takes at most two levels off the deepest point,
    as each replace only removes pairs that were innermost when it began; so brackets gone
    after ``turns`` turns nest at most ``2 * turns`` deep. A text that does not empty that way
    (a string with a bracket, a document cut short, too many turns) is not sure.
    """
    text = _ESCAPE.sub(b"", data) if b"\\" in data else data
    marks = text.translate(None, _NOT_MARKS)
    quotes = marks.count(b'"')
    if quotes:
        if 2 * marks.count(b'""') != quotes:  # a string holds a bracket (or is not closed)
            return False
        marks = marks.translate(None, b'"')
    turns = 0
    while marks:
        turns += 1
        if 2 * turns > limit:
            return False
        shorter = marks.replace(_PAIRS[0], b"").replace(_PAIRS[1], b"")
        if len(shorter) == len(marks):
            return False
        marks = shorter
    return True
