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
from typing import Any, Generic, TypeVar

import orjson

__all__ = ["MEMO_LIMIT", "Doc", "Memo", "RenderMemo"]

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


class Doc:
    """A SCIM resource as its JSON text, parsed only when needed."""

    __slots__ = ("_data", "group", "raw")

    def __init__(self, raw: bytes, group: bool, data: dict[str, Any] | None = None) -> None:
        self.raw = raw
        self.group = group
        self._data = data

    @classmethod
    def of(cls, resource: dict[str, Any], group: bool) -> Doc:
        """The document of a resource (serialised now)."""
        return cls(orjson.dumps(resource), group, resource)

    @property
    def data(self) -> dict[str, Any]:
        """The resource as a dict."""
        if self._data is None:
            self._data = orjson.loads(self.raw)
        return self._data


class RenderMemo:
    """Per user record: the state it was rendered from and its JSON text."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._entries: dict[int, tuple[Hashable, bytes]] = {}

    def get(self, key: int, state: Hashable, render: Callable[[], dict[str, Any]]) -> Doc:
        """The User resource of record ``key`` in ``state`` (rendered when the state is new)."""
        if self.enabled:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == state:
                return Doc(hit[1], False)
        doc = Doc.of(render(), False)
        if self.enabled:
            self._entries[key] = (state, doc.raw)
        return doc
