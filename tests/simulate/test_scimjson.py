"""``--format scim-json`` pages, loaded with ``recon import``, give the tables of the Parquet format."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from recon.cli import main
from recon.simulate import simulate
from recon.store import Store

ARGS = {"users": 90, "groups": 10, "cycles": 3, "seed": 3, "profile": "hostile"}


def test_imported_pages_equal_the_parquet_exports(tmp_path: Path) -> None:
    parquet, pages, imported = tmp_path / "parquet", tmp_path / "pages", tmp_path / "imported"
    simulate(parquet, **ARGS)  # type: ignore[arg-type]
    simulate(pages, fmt="scim-json", **ARGS)  # type: ignore[arg-type]
    assert not (pages / "exports").exists()
    listed = json.loads((pages / "scim" / "imports.json").read_text())
    assert {(e["system"], e["kind"]) for e in listed} == {
        ("idp", "full"),
        ("idp", "delta"),
        ("slack", "full"),
        ("github", "full"),
    }
    for entry in listed:
        command = ["import", *(str(pages / f) for f in entry["files"]), "--system", entry["system"]]
        command += ["--cycle", entry["cycle"], "--kind", entry["kind"], "--data-dir", str(imported)]
        if entry["since"]:
            command += ["--since", entry["since"]]
        assert main(command) == 0
    want, got = Store(parquet), Store(imported)
    assert len(want.exports()) == len(got.exports()) == len(listed)
    for ref in want.exports():
        mine = got.export(ref.system, ref.cycle, ref.kind)
        for table in ("users", "groups", "memberships"):
            assert_frame_equal(pl.read_parquet(mine.table(table)), pl.read_parquet(ref.table(table)))
        assert mine.manifest().filter == ref.manifest().filter
        assert mine.manifest().watermark == ref.manifest().watermark
    for truth in sorted((parquet / "truth").rglob("*.parquet")):
        assert truth.read_bytes() == (pages / truth.relative_to(parquet)).read_bytes()
