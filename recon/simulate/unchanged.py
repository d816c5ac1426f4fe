"""Which users are unchanged since their system's previous full export, and where that export holds them.

A user's resource is a pure function of its record's state (the tuple its renderer reads:
:mod:`recon.simulate.render` names it), and nothing changes a record between one full export
and the next cycle's changes. So a user whose state after this cycle's changes equals its
state before them has the same JSON text, content print and ``users`` row as in the previous
full export, where it sat at a known row (exports are in id order).

:class:`Unchanged` holds the states only while the changes are made (:meth:`Unchanged.hold`,
then :meth:`Unchanged.compare`), not through the exports and findings where the simulation's
memory peaks; what it keeps from one export to the next is a byte per record (changed or not)
and its row in the last full export.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path

__all__ = ["Unchanged"]

_NONE = -1


class Unchanged:
    """The records of one system (by number) that are unchanged since its previous full export.

    Per cycle: :meth:`hold` (the states before the cycle's changes) and :meth:`compare` (after
    them); then per full export: :meth:`start`, :meth:`seen` for each user in the order written,
    and :meth:`written` with the export's users file.
    """

    def __init__(self) -> None:
        self._rows = array("q")  # per record: its row in the previous full export's users file
        self._writing = array("q")  # the same for the export being written
        self._previous: Path | None = None  # that file (None: no previous full export yet)
        self._held: Sequence[Hashable | None] | None = None
        self._same = bytearray()  # per record: 1 when its state did not change since that export
        self._row = 0

    @property
    def previous(self) -> Path | None:
        """The previous full export's ``users.parquet`` (None before the first one is written)."""
        return self._previous

    def hold(self, states: Iterable[Hashable | None]) -> None:
        """The records' states (by number; None for a record not in the export) before this cycle's
        changes, i.e. as the previous full export was rendered from them."""
        self._held = list(states)

    def compare(self, states: Iterable[Hashable | None]) -> None:
        """The records' states after this cycle's changes: which ones stayed the same. The held
        states are let go."""
        held, self._held = self._held or [], None
        count = len(held)
        same = bytearray()
        for key, state in enumerate(states):
            before = held[key] if key < count else None
            same.append(1 if before is not None and state is not None and before == state else 0)
        self._same = same

    def start(self, records: int) -> None:
        """A full export of a system numbering ``records`` records so far begins."""
        self._row = 0
        self._writing = array("q", [_NONE]) * records

    def seen(self, key: int) -> int:
        """The row of record ``key`` in the previous full export when it is unchanged since, else -1;
        records that ``key`` is this export's next row."""
        writing = self._writing
        if key >= len(writing):
            writing.extend([_NONE] * (key + 1 - len(writing)))
        writing[key] = self._row
        self._row += 1
        if self._previous is None or key >= len(self._same) or key >= len(self._rows) or not self._same[key]:
            return _NONE
        return self._rows[key]

    def row(self, key: int) -> int:
        """The row of record ``key`` in the last full export written (-1: not in it); nothing
        changes a record between a cycle's full export and its delta export."""
        return self._rows[key] if key < len(self._rows) else _NONE

    def written(self, users_file: Path) -> None:
        """The export was written: its users file and rows are the previous ones from now on."""
        self._previous = users_file
        self._rows, self._writing = self._writing, array("q")
        self._same = bytearray()
