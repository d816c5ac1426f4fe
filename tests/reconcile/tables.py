"""The schemas of reconcile's given/expected tables (the table dialect is tests/tables.py)."""

from __future__ import annotations

import pyarrow as pa

from recon.reconcile.correlation import CORRELATION_WITH_FLAGS
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

CORRELATION = CORRELATION_WITH_FLAGS  # what reconcile keeps and its statements read
KEYS = pa.schema(
    [("side", pa.string()), ("record_id", pa.string()), ("value", pa.string()), ("active", pa.bool_())]
)
NAMES = pa.schema([("display_name", pa.string())])
