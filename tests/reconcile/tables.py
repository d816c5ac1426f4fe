"""The schemas of reconcile's given/expected tables (the table dialect is tests/tables.py)."""

from __future__ import annotations

import pyarrow as pa

from recon.schemas import GROUPS, MEMBERSHIPS, USERS
from tests.tables import ordered, parse, rows, run

__all__ = [
    "CORRELATION",
    "GROUPS",
    "KEYS",
    "MEMBERSHIPS",
    "NAMES",
    "USERS",
    "ordered",
    "parse",
    "rows",
    "run",
]

CORRELATION = pa.schema(
    [
        ("rule", pa.int32()),
        ("source_id", pa.string()),
        ("target_id", pa.string()),
        ("ambiguous", pa.bool_()),
        ("source_active", pa.bool_()),  # the users' active flags the correlation carries
        ("target_active", pa.bool_()),
    ]
)
KEYS = pa.schema(
    [("side", pa.string()), ("record_id", pa.string()), ("value", pa.string()), ("active", pa.bool_())]
)
NAMES = pa.schema([("display_name", pa.string())])
