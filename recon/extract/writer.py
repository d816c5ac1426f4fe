"""Stream normalised resources into an export partition (CONTRACT §3).

Every table keeps one copy per id, is ordered by id and is written in the fixed row groups of
:mod:`recon.row_groups` (whole, one chunk each; smaller for groups with large member lists), so
the same rows always give the same bytes however they arrived.

Users arriving in strictly increasing id order (the common case: servers list by id) go
straight into ``users.parquet`` as they come, in Arrow batches (:meth:`ExportWriter.add_users`)
or one by one (:meth:`ExportWriter.add`); there is nothing to drop and nothing to sort. From
the first id out of order on, the rows written so far and every later one go to
``_received/users.parquet`` with their arrival number, and :meth:`ExportWriter.finish`
keeps the first copy of each id and sorts in DuckDB (which spills beyond its memory cap).
Groups likewise: while their ids increase, each group goes straight into ``groups.parquet``
and its members, ordered by member id (the first copy of a member kept), into
``memberships.parquet``; from the first group out of order on, groups and memberships go to
``_received`` and DuckDB keeps the first copies and sorts. Memory stays flat however large
the export.
The staging folder is published by :meth:`recon.store.Store.publishing`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon.engine import Parquet, Session
from recon.extract.normalize import Normalised
from recon.row_groups import RowGroupFile
from recon.schemas import GROUPS, MEMBERSHIPS, USERS
from recon.store import Manifest, atomic_write_json

__all__ = ["Connection", "ExportWriter"]

Connection = Session | Callable[[], Session]
"""An engine session, or a function that opens one (called only when there is SQL to run)."""
_SEQ = pa.field("_seq", pa.int64())
_RECEIVED = {
    "users": USERS.append(_SEQ),
    "groups": GROUPS.append(_SEQ),
    "memberships": MEMBERSHIPS.append(pa.field("_group_seq", pa.int64())).append(_SEQ),
}
_FINAL = {"users": USERS, "groups": GROUPS, "memberships": MEMBERSHIPS}


class _UsersSink:
    """The users of one export: straight to ``users.parquet`` while ids increase, else to ``_received``."""

    def __init__(self, staging: Path, received_dir: Path) -> None:
        self._final = RowGroupFile(staging / "users.parquet", USERS)
        self._received_path = received_dir / "users.parquet"
        self._received: pq.ParquetWriter | None = None
        self._last: str | None = None
        self._seq = 0
        self.ordered = True

    def add(self, batch: pa.RecordBatch) -> None:
        """Append users in arrival order."""
        if batch.num_rows == 0:
            return
        if self.ordered:
            ids = batch.column(0)
            last = ids[len(ids) - 1].as_py()
            increasing = (self._last is None or ids[0].as_py() > self._last) and (
                len(ids) == 1 or pc.all(pc.greater(ids[1:], ids[:-1])).as_py()
            )
            if increasing:
                self._final.add(batch)
                self._last = last
                self._seq += batch.num_rows
                return
            self.ordered = False
            self._seq = 0
            for earlier in self._final.abandon():
                self._receive(earlier)
        self._receive(batch)

    def _receive(self, batch: pa.RecordBatch) -> None:
        if self._received is None:
            self._received = pq.ParquetWriter(self._received_path, _RECEIVED["users"])
        seq = pa.array(range(self._seq + 1, self._seq + 1 + batch.num_rows), pa.int64())
        self._seq += batch.num_rows
        self._received.write_batch(
            pa.RecordBatch.from_arrays([*batch.columns, seq], schema=_RECEIVED["users"])
        )

    def close_received(self) -> None:
        """Close ``_received/users.parquet`` (an empty one when the users were in order)."""
        if self._received is not None:
            self._received.close()
            self._received = None
        elif not self._received_path.exists():
            pq.write_table(_RECEIVED["users"].empty_table(), self._received_path)

    def close_final(self) -> int:
        """Finish ``users.parquet`` when the users came in order; returns its rows."""
        return self._final.close()


class _GroupsSink:
    """The groups of one export and their memberships: straight to the final files while group
    ids increase, else (:meth:`abandon`) handed back for ``_received``."""

    def __init__(self, staging: Path) -> None:
        self._groups = RowGroupFile(staging / "groups.parquet", GROUPS)
        self._memberships = RowGroupFile(staging / "memberships.parquet", MEMBERSHIPS)
        self._rows: list[dict[str, Any]] = []
        self._group_ids: list[str] = []
        self._member_ids: list[str] = []
        self._member_types: list[str | None] = []
        self._last: str | None = None
        self.ordered = True
        self.rows = {"groups": 0, "memberships": 0}

    def takes(self, group_id: str) -> bool:
        """Whether a group with this id continues the increasing order."""
        return self.ordered and (self._last is None or group_id > self._last)

    def add(self, resource: Normalised, batch_rows: int) -> None:
        """Append a group whose id :meth:`takes`, and its members in member id order."""
        self._last = resource.row["id"]
        self._rows.append(resource.row)
        members = sorted(resource.memberships, key=_member_id)  # stable: the first copy first
        previous: str | None = None
        for member in members:
            member_id = member["member_id"]
            if member_id == previous:
                continue  # a later copy of the same member (the first one is kept)
            previous = member_id
            self._group_ids.append(member["group_id"])
            self._member_ids.append(member_id)
            self._member_types.append(member["member_type"])
        if len(self._rows) >= batch_rows or len(self._member_ids) >= batch_rows:
            self.flush()

    def add_members(
        self, row: dict[str, Any], member_ids: list[str], member_types: list[str | None], batch_rows: int
    ) -> None:
        """:meth:`add` for a group whose members come as columns (in the order listed)."""
        self._last = group_id = row["id"]
        self._rows.append(row)
        # the first copy of each member id (reversed, so the first copy is the one written
        # last), then ordered by member id: what :meth:`add` keeps, without a row per member
        first = dict(zip(reversed(member_ids), reversed(member_types), strict=True))
        ordered = sorted(first)
        self._group_ids.extend(repeat(group_id, len(ordered)))
        self._member_ids.extend(ordered)
        self._member_types.extend(map(first.__getitem__, ordered))
        if len(self._rows) >= batch_rows or len(self._member_ids) >= batch_rows:
            self.flush()

    def flush(self) -> None:
        """Hand the buffered rows to the files."""
        if self._rows:
            self._groups.add(pa.RecordBatch.from_pylist(self._rows, schema=GROUPS))
            self.rows["groups"] += len(self._rows)
            self._rows = []
        if self._member_ids:
            columns = [self._group_ids, self._member_ids, self._member_types]
            self._memberships.add(
                pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in columns], schema=MEMBERSHIPS)
            )
            self.rows["memberships"] += len(self._member_ids)
            self._group_ids, self._member_ids, self._member_types = [], [], []

    def abandon(self) -> tuple[list[pa.RecordBatch], list[pa.RecordBatch]]:
        """Stop writing the final files; the groups and memberships taken so far, in order."""
        self.flush()
        self.ordered = False
        return list(self._groups.abandon()), list(self._memberships.abandon())

    def close(self) -> dict[str, int]:
        """Finish both files (empty tables when no group came); returns their rows."""
        self.flush()
        self._groups.close()
        self._memberships.close()
        return self.rows


def _member_id(member: dict[str, Any]) -> str:
    return str(member["member_id"])


class ExportWriter:
    """Collects normalised resources for one export and writes its tables on :meth:`finish`."""

    def __init__(self, staging: Path, *, batch_rows: int = 20_000) -> None:
        self.staging = staging
        self._received_dir = staging / "_received"
        self._received_dir.mkdir(parents=True, exist_ok=True)
        self._batch_rows = batch_rows
        self._buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in _RECEIVED}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._users = _UsersSink(staging, self._received_dir)
        self._groups = _GroupsSink(staging)
        self._seq = 0
        self._closed = False
        self.received = {"User": 0, "Group": 0}

    def add(self, resource: Normalised) -> None:
        """Append one resource (and a group's memberships)."""
        self._seq += 1
        seq = self._seq
        if resource.resource_type == "User":
            self._buffers["users"].append(resource.row)
            self.received["User"] += 1
        elif self._groups.takes(resource.row["id"]):
            self._groups.add(resource, self._batch_rows)
            self.received["Group"] += 1
            return
        else:
            if self._groups.ordered:
                self._receive_groups()
            self._buffers["groups"].append({**resource.row, "_seq": seq})
            self.received["Group"] += 1
            for index, membership in enumerate(resource.memberships):
                self._buffers["memberships"].append(
                    {**membership, "_group_seq": seq, "_seq": seq * 1_000_000 + index}
                )
        for name, buffer in self._buffers.items():
            if len(buffer) >= self._batch_rows:
                self._flush(name)

    def add_group(self, row: dict[str, Any], member_ids: list[str], member_types: list[str | None]) -> None:
        """Append one group given as its ``groups`` row and its members' ids and types in the
        order the group lists them (what :meth:`add` does with the group normalised, with no
        object per member while group ids increase)."""
        if not self._groups.takes(row["id"]):
            memberships = [
                {"group_id": row["id"], "member_id": member, "member_type": kind}
                for member, kind in zip(member_ids, member_types, strict=True)
            ]
            self.add(Normalised("Group", row, memberships, []))
            return
        self._seq += 1
        self.received["Group"] += 1
        self._groups.add_members(row, member_ids, member_types, self._batch_rows)

    def _receive_groups(self) -> None:
        """From the first group out of id order on: the groups taken so far go to ``_received``
        (numbered before every later resource, so their copies stay the first ones)."""
        groups, memberships = self._groups.abandon()
        seq_of: dict[str, int] = {}
        for batch in groups:
            for row in batch.to_pylist():
                seq_of[row["id"]] = len(seq_of) + 1
                self._buffers["groups"].append({**row, "_seq": seq_of[row["id"]]})
        index = 0
        previous = None
        for batch in memberships:
            for membership in batch.to_pylist():
                group_seq = seq_of[membership["group_id"]]
                index = index + 1 if membership["group_id"] == previous else 0
                previous = membership["group_id"]
                self._buffers["memberships"].append(
                    {**membership, "_group_seq": group_seq, "_seq": group_seq * 1_000_000 + index}
                )
        for name in ("groups", "memberships"):
            self._flush(name)

    def add_users(self, batch: pa.RecordBatch) -> None:
        """Append users given as rows of the ``users`` table (e.g. from :mod:`recon.extract.columns`)."""
        self._flush("users")
        self._seq += batch.num_rows
        self.received["User"] += batch.num_rows
        self._users.add(batch)

    def _flush(self, name: str) -> None:
        buffer = self._buffers[name]
        if not buffer:
            return
        if name == "users":
            self._users.add(pa.RecordBatch.from_pylist(buffer, schema=USERS))
            buffer.clear()
            return
        table = pa.Table.from_pylist(buffer, schema=_RECEIVED[name])
        writer = self._writers.get(name)
        if writer is None:
            writer = pq.ParquetWriter(self._received_dir / f"{name}.parquet", _RECEIVED[name])
            self._writers[name] = writer
        writer.write_table(table)
        buffer.clear()

    def close(self) -> None:
        """Flush and close the received parts (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        for name in _RECEIVED:
            self._flush(name)
            if name != "users" and name not in self._writers:
                pq.write_table(_RECEIVED[name].empty_table(), self._received_dir / f"{name}.parquet")
        self._users.close_received()
        for writer in self._writers.values():
            writer.close()

    def finish(self, con: Connection, manifest: Manifest) -> Manifest:
        """Deduplicate, order and write the three tables and ``manifest.json`` into staging.

        Duplicate ids are recorded in the manifest (``duplicates_dropped`` and an anomaly
        with up to 20 example ids). ``con`` may be a function that connects: it is called
        only when there is something to sort.
        """
        self.close()
        lazy = con

        def sql() -> Session:
            return lazy() if callable(lazy) else lazy

        received = {name: Parquet.of(self._received_dir / f"{name}.parquet") for name in _RECEIVED}
        ordered = self._groups.ordered
        groups = self.received["Group"] > 0 and not ordered  # groups to sort in DuckDB
        duplicates = []
        if groups or not self._users.ordered:  # resources in increasing id order have no duplicates
            session = sql()
            duplicates = session.tuples(
                session.run(
                    "export_duplicate_ids",
                    inputs={"received_users": received["users"], "received_groups": received["groups"]},
                )
            )
        if duplicates:
            extra = sum(int(row[2]) for row in duplicates)
            manifest.duplicates_dropped += extra
            examples = [f"{row[0]} {row[1]}" for row in duplicates[:20]]
            manifest.add_anomaly(
                "duplicate_ids",
                f"{extra} extra copies of {len(duplicates)} ids dropped (first copy kept)",
                count=extra,
                examples=examples,
            )
        if self._users.ordered:
            users = self._users.close_final()  # in id order, no id twice: already the table
        else:
            session = sql()
            users = session.write_parquet(
                session.run("export_users_dedupe", inputs={"received_users": received["users"]}),
                self.staging / "users.parquet",
                USERS,
            )
        rows = {"users": users, "groups": 0, "memberships": 0}
        if ordered:  # in id order, no id twice: already the tables (empty when no group came)
            rows.update(self._groups.close())
        else:
            session = sql()
            rows["groups"] = session.write_parquet(
                session.run("export_groups_dedupe", inputs={"received_groups": received["groups"]}),
                self.staging / "groups.parquet",
                GROUPS,
            )
            rows["memberships"] = session.write_parquet(
                session.run(
                    "export_memberships_dedupe",
                    inputs={
                        "received_groups": received["groups"],
                        "received_memberships": received["memberships"],
                    },
                ),
                self.staging / "memberships.parquet",
                MEMBERSHIPS,
            )
        manifest.rows = rows
        manifest.items_received = {
            "Users": self.received["User"],
            "Groups": self.received["Group"],
        }
        shutil.rmtree(self._received_dir, ignore_errors=True)
        atomic_write_json(self.staging / "manifest.json", manifest.to_json())
        return manifest
