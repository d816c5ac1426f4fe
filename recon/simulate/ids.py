"""Deterministic ids and timestamps of the simulated systems.

Every system assigns its own ids, in its own style (Okta-like ``00u…`` at the IdP, ``U…`` in
Slack, UUIDs in GitHub, Atlassian-like ids in Jira). An id is a bijection of a serial number
keyed by the seed and the system, so ids are unique by construction, differ between seeds and
never depend on ``PYTHONHASHSEED``.

Times are whole seconds since 1970 (UTC) in the model; they are written as RFC 3339 text,
normally with ``Z`` and, for the "other offset" equivalence trap, with a ``+hh:mm`` offset.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = [
    "CYCLE_SECONDS",
    "OFFSETS",
    "SNAPSHOT_LAG_US",
    "START",
    "IdMaker",
    "cycle_id",
    "iso",
    "snapshot_iso",
    "snapshot_time",
]

START = int(datetime(2026, 1, 5, 2, 0, 0, tzinfo=UTC).timestamp())  # cycle 0
CYCLE_SECONDS = 86_400  # one sync cycle a day
SNAPSHOT_LAG_US = 250_000  # an export is taken 250 ms after the cycle's second starts
OFFSETS: tuple[int, ...] = (120, -300, 330, 540, -480, 60)  # minutes east of UTC for the offset trap

_ALPHANUM = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _key(seed: int, label: str) -> int:
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _permute(value: int, key: int, bits: int) -> int:
    """A keyed bijection of ``[0, 2**bits)`` (odd multiplications and xor-shifts only)."""
    mask = (1 << bits) - 1
    x = (value ^ key) & mask
    for multiplier in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB):
        x = (x * (multiplier & mask | 1)) & mask
        x ^= x >> (bits // 2 + 1)
    return x


def _digits(value: int, alphabet: str, width: int) -> str:
    base = len(alphabet)
    out = []
    for _ in range(width):
        value, rest = divmod(value, base)
        out.append(alphabet[rest])
    return "".join(reversed(out))


class IdMaker:
    """Ids of one system's users and groups, from serial numbers."""

    def __init__(self, seed: int, system: str, style: str) -> None:
        self._user_key = _key(seed, f"{system}:users")
        self._group_key = _key(seed, f"{system}:groups")
        self._extra_key = _key(seed, f"{system}:extra")
        makers: dict[str, tuple[Callable[[int, int], str], Callable[[int, int], str]]] = {
            "okta": (self._okta("00u"), self._okta("00g")),
            "slack": (self._slack("U"), self._slack("S")),
            "github": (self._uuid, self._uuid),
            "jira": (self._atlassian, self._uuid),
        }
        self._user, self._group = makers[style]

    def user(self, serial: int) -> str:
        """The id of the user with this serial number."""
        return self._user(serial, self._user_key)

    def group(self, serial: int) -> str:
        """The id of the group with this serial number."""
        return self._group(serial, self._group_key)

    @staticmethod
    def _okta(prefix: str) -> Callable[[int, int], str]:
        def make(serial: int, key: int) -> str:
            return prefix + _digits(_permute(serial, key, 64), _ALPHANUM, 13)

        return make

    @staticmethod
    def _slack(prefix: str) -> Callable[[int, int], str]:
        def make(serial: int, key: int) -> str:
            return prefix + _digits(_permute(serial, key, 50), _BASE32, 10)

        return make

    def _uuid(self, serial: int, key: int) -> str:
        high = _permute(serial, key, 64)
        low = _permute(high, self._extra_key, 64)
        text = f"{high:016x}{low:016x}"
        return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:32]}"

    def _atlassian(self, serial: int, key: int) -> str:
        return "557058:" + self._uuid(serial, key)


def cycle_id(cycle_time: int) -> str:
    """``YYYYMMDDTHHMMSSZ`` of a cycle's time."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(cycle_time))


_DATES: dict[int, str] = {}  # ``YYYY-MM-DDT`` by day (days since 1970), as they are asked for
_DATES_KEPT = 8192
_TIMES: list[str] = []  # ``HH:MM:SS`` of every second of a day (built at the first call: ~5 MB)
_SUFFIXES: dict[int, str] = {}  # ``+hh:mm`` by offset in minutes


def _date(day: int) -> str:
    """``YYYY-MM-DDT`` of a day (days since 1970)."""
    text = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
    if len(_DATES) < _DATES_KEPT:
        _DATES[day] = text
    return text


def _suffix(offset_minutes: int) -> str:
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = _SUFFIXES[offset_minutes] = f"{'+' if offset_minutes > 0 else '-'}{hours:02d}:{minutes:02d}"
    return text


def iso(seconds: int, offset_minutes: int = 0) -> str:
    """RFC 3339 text of a whole-second UTC time, with ``Z`` or the given offset."""
    # the date of a day and the time of day are looked up, in plain dicts and a list (formatting
    # per call, then a cached function per part, were hot spots: ~6 calls per user per export)
    if not _TIMES:
        _TIMES.extend(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400))
    if offset_minutes:
        day, second = divmod(seconds + offset_minutes * 60, 86_400)
        suffix = _SUFFIXES.get(offset_minutes) or _suffix(offset_minutes)
    else:
        day, second = divmod(seconds, 86_400)
        suffix = "Z"
    return (_DATES.get(day) or _date(day)) + _TIMES[second] + suffix


def snapshot_time(cycle_time: int) -> datetime:
    """When the exports of a cycle are taken: 250 ms into the cycle's second (UTC, aware)."""
    return datetime.fromtimestamp(cycle_time, UTC) + timedelta(microseconds=SNAPSHOT_LAG_US)


def snapshot_iso(cycle_time: int) -> str:
    """:func:`snapshot_time` as ISO text with ``Z`` (the watermark of the next cycle's delta)."""
    return snapshot_time(cycle_time).isoformat(timespec="milliseconds").replace("+00:00", "Z")
