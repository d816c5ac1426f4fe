"""Memos that let the simulator skip work for records that did not change since the last cycle.

Most of a directory is the same from one cycle to the next. A record's SCIM resource is a
pure function of its state, and everything derived from the resource (its JSON text, its
normalised rows, its truth view) is a pure function of that text. So:

- :class:`RenderMemo` keeps, per record, the state it was last rendered from with the resource
  and its JSON text, and returns them again while the state is unchanged;
- :class:`Memo` keeps values computed from a resource's JSON text (the same ``bytes`` object
  comes back for an unchanged record, so the lookup costs one cached hash), for the records
  of the last full export only.

Both are off for very large directories (they would cost more memory than they save time).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import orjson

if TYPE_CHECKING:
    from recon.simulate.views import Indexed, UserRow

__all__ = ["MEMO_LIMIT", "Doc", "Members", "Memo", "RenderMemo"]

MEMO_LIMIT = 20_000  # users above which nothing is memoised (memos cost ~10 KB per user)
V = TypeVar("V")


class Memo(Generic[V]):
    """``raw JSON text -> value`` for the records of the current and the previous export."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._old: dict[bytes, V] = {}
        self._new: dict[bytes, V] = {}

    def get(self, raw: bytes, make: Callable[[], V]) -> V:
        """The value for ``raw``, computed by ``make()`` when not memoised."""
        if not self.enabled:
            return make()
        value = self._new.get(raw)
        if value is None:
            value = self._old.get(raw)
            if value is None:
                value = make()
            self._new[raw] = value
        return value

    def rotate(self) -> None:
        """Forget what was not used since the last rotation (call after each full export)."""
        self._old, self._new = self._new, {}


class Members(NamedTuple):
    """A rendered group's members in the order its ``members`` lists them: the users, then the
    nested groups (each member ``{"value": id, "type": "User" | "Group"}``)."""

    users: list[str]
    groups: list[str]


class Doc:
    """A SCIM resource as its JSON text, parsed only when needed.

    A group rendered by the simulator also carries its :class:`Members` (``members``), and its
    ``data`` holds everything but ``members``: its readers take the ids from the lists rather than
    from an object per member. Read back from a file, ``members`` is None and ``data`` is whole.
    """

    __slots__ = ("_data", "content_print", "group", "indexed", "members", "previous", "raw", "row")

    def __init__(
        self, raw: bytes, group: bool, data: dict[str, Any] | None = None, members: Members | None = None
    ) -> None:
        self.raw = raw
        self.group = group
        self._data = data
        self.members = members
        # what the readers would derive from a user's object, when its renderer made them from
        # the model's values (tests hold them equal): its content print, its truth view row,
        # and (IdP users) its delta fingerprint
        self.content_print: bytes | None = None
        self.row: UserRow | None = None
        self.indexed: Indexed | None = None
        # a user unchanged since its system's previous full export (recon.simulate.unchanged): its
        # row there (>= 0), whose text and columns are its own; ``raw`` is then empty and only
        # ``row`` (and, at the IdP, ``indexed``) are made
        self.previous = -1

    @classmethod
    def unchanged(cls, previous: int, row: UserRow, indexed: Indexed | None = None) -> Doc:
        """A user written as it was at row ``previous`` of its system's previous full export."""
        doc = cls(b"", False)
        doc.previous, doc.row, doc.indexed = previous, row, indexed
        return doc

    @classmethod
    def of(cls, resource: dict[str, Any], group: bool) -> Doc:
        """The document of a resource (serialised now)."""
        return cls(orjson.dumps(resource), group, resource)

    @classmethod
    def of_group(cls, head: dict[str, Any], members: Members, tail: dict[str, Any]) -> Doc:
        """The document of a group: ``head``'s attributes, ``members``, then ``tail``'s (serialised
        now, as :meth:`of` would serialise the whole group; ``data`` is head and tail)."""
        raw = orjson.dumps({**head, "members": orjson.Fragment(_members_json(members)), **tail})
        return cls(raw, True, {**head, **tail}, members)

    @property
    def parsed(self) -> dict[str, Any] | None:
        """:attr:`data` when it is at hand (rendered, or parsed already), else None."""
        return self._data

    @property
    def data(self) -> dict[str, Any]:
        """The resource as a dict (without ``members`` when :attr:`members` holds them)."""
        if self._data is None:
            self._data = orjson.loads(self.raw)
        return self._data


_USER_MEMBER = '{"value":"%s","type":"User"}'
_GROUP_MEMBER = '{"value":"%s","type":"Group"}'


def _members_json(members: Members) -> str:
    """``members`` as orjson writes the list of member objects. The ids are the simulator's own
    (letters, digits and ``-``): nothing in them to escape, so joining is serialising."""
    parts = []
    if members.users:
        parts.append(_USER_MEMBER % '","type":"User"},{"value":"'.join(members.users))
    if members.groups:
        parts.append(_GROUP_MEMBER % '","type":"Group"},{"value":"'.join(members.groups))
    return "[" + ",".join(parts) + "]"


class RenderMemo:
    """Per user record: the state it was rendered from and its JSON text."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._entries: dict[int, tuple[Hashable, bytes]] = {}

    def get(self, key: int, state: Hashable, render: Callable[[], Doc]) -> Doc:
        """The User resource of record ``key`` in ``state`` (rendered when the state is new)."""
        if self.enabled:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == state:
                return Doc(hit[1], False)
        doc = render()
        if self.enabled:
            self._entries[key] = (state, doc.raw)
        return doc
