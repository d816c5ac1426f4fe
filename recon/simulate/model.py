"""The in-memory state of the simulated systems (kept compact: a million users must fit).

A person's attributes are an immutable :class:`Content` tuple; the IdP's :class:`User` and a
target's :class:`Account` point at one, so an account that is in sync shares its user's tuple
and costs no copy. Memberships are tuples of group numbers on the member (``groups``), shared
the same way. Times are whole seconds since 1970, UTC.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = [
    "BLANK",
    "EMAIL_CASE",
    "EMAIL_ORDER",
    "EXT_ABSENT",
    "EXT_BLANK",
    "EXT_SOURCE",
    "NAME_CASE",
    "TS_OFFSET",
    "Account",
    "Content",
    "Event",
    "Group",
    "Ledger",
    "Profile",
    "TGroup",
    "User",
]

# trap flags of a rendered record (bit mask)
NAME_CASE = 1  # userName (users) / displayName (groups) in other letter case
EMAIL_CASE = 2
EMAIL_ORDER = 4
BLANK = 8  # "" for an absent title/department
TS_OFFSET = 16  # meta timestamps with an offset instead of Z

# how a target record carries its externalId
EXT_SOURCE = 0  # the source id
EXT_ABSENT = 1  # no externalId
EXT_BLANK = 2  # externalId ""


class Content(NamedTuple):
    """The attributes of a person (what a sync copies)."""

    user_name: str
    given: str
    family: str
    home_email: str | None
    department: str | None
    title: str | None
    manager: int  # the manager's user number at the IdP, -1 for none
    user_type: str
    active: bool
    home_first: bool  # the home email is listed first (the work one stays primary)


class Profile(NamedTuple):
    """What only the IdP holds about a person, outside the compared columns (targets never see it):
    the attributes downstream apps provision from and a delta must not drop."""

    phone: int  # serial of the work phone number
    site: int  # index of the work address's locality (SITES)
    roles: tuple[str, ...]  # role values, sorted
    cost_center: str | None  # enterprise costCenter
    badge: str  # the custom extension's attribute (caseExact false)


class User:
    """A user of the IdP, numbered from 0 in order of creation.

    ``form`` picks one of the IdP's equivalent serialisations of the same content (letter case
    of caseExact=false values, order of multi-valued attributes, "" for unassigned): it changes
    the JSON text, never the content.
    """

    __slots__ = ("c", "created", "flags", "form", "groups", "last_modified", "num", "p", "version")

    def __init__(
        self, num: int, c: Content, created: int, groups: tuple[int, ...], flags: int, p: Profile
    ) -> None:
        self.num = num
        self.c = c
        self.p = p
        self.form = 0
        self.created = created
        self.last_modified: int | None = created
        self.version = 1
        self.groups = groups  # group numbers, sorted
        self.flags = flags


class Group:
    """A group of the IdP, numbered from 0 in order of creation."""

    __slots__ = ("created", "dept", "flags", "gnum", "last_modified", "name", "nested", "version")

    def __init__(self, gnum: int, name: str, dept: str | None, created: int, flags: int) -> None:
        self.gnum = gnum
        self.name = name
        self.dept = dept
        self.nested: tuple[int, ...] = ()  # member groups (group numbers)
        self.created = created
        self.last_modified = created
        self.version = 1
        self.flags = flags


class Account:
    """A user account in a target. ``src`` is the IdP user number it was made for (-1: by hand)."""

    __slots__ = (
        "active",
        "c",
        "created",
        "ext",
        "flags",
        "groups",
        "last_modified",
        "serial",
        "src",
        "version",
    )

    def __init__(
        self, serial: int, src: int, ext: int, c: Content, groups: tuple[int, ...], flags: int, when: int
    ) -> None:
        self.serial = serial
        self.src = src
        self.ext = ext
        self.c = c
        self.active = c.active
        self.groups = groups  # keys of the target's groups (a source group number, or < 0 for its own)
        self.flags = flags
        self.created = when
        self.last_modified = when
        self.version = 1

    def touch(self, when: int) -> None:
        """Record a write to the account."""
        self.last_modified = max(when, self.last_modified)
        self.version += 1


class TGroup:
    """A group in a target, under a key: the source group number it mirrors, or < 0 for its own."""

    __slots__ = (
        "created",
        "ext",
        "flags",
        "key",
        "last_modified",
        "name",
        "nested",
        "serial",
        "src",
        "version",
    )

    def __init__(self, key: int, serial: int, src: int, ext: int, name: str, flags: int, when: int) -> None:
        self.key = key
        self.serial = serial
        self.src = src  # source group number for the externalId (-1: none)
        self.ext = ext
        self.name = name
        self.nested: tuple[int, ...] = ()  # member group keys
        self.flags = flags
        self.created = when
        self.last_modified = when
        self.version = 1


class Event(NamedTuple):
    """One change at the IdP in a cycle, replayed by every target's sync."""

    kind: str  # join | update | leave | delete | add | remove | group
    num: int  # user number (group number for ``group``)
    gnum: int = -1  # group number for add/remove


class Ledger:
    """Counts of what was injected (faults, quirks, traps, events) with a few examples each."""

    def __init__(self, examples: int = 5) -> None:
        self._examples = examples
        self._data: dict[str, dict[str, dict[str, Any]]] = {}
        self._seen: dict[tuple[str, str], set[str]] = {}

    def note(self, section: str, name: str, example: dict[str, Any] | None = None, count: int = 1) -> None:
        """Count ``count`` more of ``name`` in ``section`` (keeping the first examples)."""
        entry = self._data.setdefault(section, {}).setdefault(name, {"count": 0, "examples": []})
        entry["count"] += count
        if example is not None and len(entry["examples"]) < self._examples:
            entry["examples"].append(example)

    def note_once(self, section: str, name: str, key: str, example: dict[str, Any]) -> None:
        """Like :meth:`note`, counting each ``key`` (a record) only the first time."""
        seen = self._seen.setdefault((section, name), set())
        if key not in seen:
            seen.add(key)
            self.note(section, name, example)

    def counts(self, section: str) -> dict[str, int]:
        """``name -> count`` of one section."""
        return {name: entry["count"] for name, entry in sorted(self._data.get(section, {}).items())}

    def to_json(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every section, names sorted."""
        return {section: dict(sorted(names.items())) for section, names in sorted(self._data.items())}
