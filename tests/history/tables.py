"""Tables written inline as pipe-separated text (first line: column names; `-` is null)."""

from __future__ import annotations

from typing import Any

import polars as pl


def table(text: str, types: dict[str, Any] | None = None) -> pl.DataFrame:
    """Parse a pipe table; columns are text unless ``types`` says otherwise."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    names = [cell.strip() for cell in lines[0].split("|")]
    rows = []
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.split("|")]
        assert len(cells) == len(names), line
        rows.append([None if cell == "-" else cell for cell in cells])
    frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")
    for name, dtype in (types or {}).items():
        if dtype is pl.Boolean:
            frame = frame.with_columns(
                pl.col(name).replace_strict({"true": True, "false": False}, default=None)
            )
        else:
            frame = frame.with_columns(pl.col(name).cast(dtype))
    return frame
