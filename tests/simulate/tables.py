"""Given tables for the truth oracle, written inline as pipe-separated text (tests/tables.py).

Header lines are not written: the column order is fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from recon.simulate.views import DirectoryView, GroupRow, Indexed, UserRow
from tests.tables import values

__all__ = ["KEY", "directory", "indexed", "keys"]

KEY = ("kind", "severity", "source_id", "target_id", "group_id", "target_group_id", "attribute")


def _rows(text: str) -> list[list[Any]]:
    return values(text)


def directory(users: str, groups: str = "", members: str = "") -> DirectoryView:
    """users: ``id | externalId | userName | active | given | family | primary email | title | department``;
    groups: ``id | externalId | displayName``; members: ``group id | member id | User|Group``."""
    view = DirectoryView()
    view.users = [UserRow(*row) for row in _rows(users)]
    view.groups = [GroupRow(*row) for row in _rows(groups)] if groups.strip() else []
    for group_id, member_id, member_type in _rows(members) if members.strip() else []:
        into = view.group_parents if member_type == "Group" else view.user_groups
        into.setdefault(member_id, []).append(group_id)
    return view


def keys(rows: list[Any]) -> set[tuple[Any, ...]]:
    """The identity of finding rows (what engines and truth must agree on)."""
    return {tuple(getattr(row, name) for name in KEY) for row in rows}


def indexed(text: str) -> dict[str, Indexed]:
    """``id | content | name | lastModified (ISO, or null)`` -> content index (content as a short label)."""
    out = {}
    for rid, content, name, modified in _rows(text):
        when = None if modified is None else datetime.fromisoformat(modified).astimezone(UTC)
        out[rid] = Indexed.of(rid, content.encode().ljust(16, b"."), name, when)
    return out
