from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recon.errors import ImportRejected, InputError, UsageError
from recon.extract.files import import_files
from recon.extract.normalize import GROUP_SCHEMA, USER_SCHEMA
from recon.schemas import validate_table
from recon.store import Store

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def users(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [USER_SCHEMA],
            "id": f"u{i:04d}",
            "userName": f"user{i}@example.com",
            "active": i % 3 != 0,
            "emails": [{"value": f"user{i}@example.com", "type": "work", "primary": True}],
            "meta": {"lastModified": f"2026-01-0{1 + i % 9}T10:00:00+02:00"},
        }
        for i in range(start, start + n)
    ]


def group(gid: str, members: list[str]) -> dict[str, Any]:
    return {
        "schemas": [GROUP_SCHEMA],
        "id": gid,
        "displayName": gid,
        "members": [{"value": m} for m in members],
    }


def page(resources: list[dict[str, Any]], start: int = 1, total: int | None = None) -> dict[str, Any]:
    return {
        "schemas": [LIST],
        "totalResults": total if total is not None else len(resources),
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def tables(
    store: Store, system: str = "okta", cycle: str = "c1", kind: str = "full"
) -> dict[str, pl.DataFrame]:
    ref = store.export(system, cycle, kind)  # type: ignore[arg-type]
    return {t: pl.read_parquet(ref.table(t)) for t in ("users", "groups", "memberships")}


RESOURCES = [*users(5), group("g1", ["u0001", "u0002"])]


def write_formats(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "page": tmp_path / "page.json",
        "pages": tmp_path / "pages.json",
        "array": tmp_path / "array.json",
        "ndjson": tmp_path / "lines.ndjson",
        "gz": tmp_path / "lines.ndjson.gz",
        "pretty": tmp_path / "pretty.json",
    }
    paths["page"].write_text(json.dumps(page(RESOURCES)))
    paths["pages"].write_text(json.dumps([page(RESOURCES[:3]), page(RESOURCES[3:], start=4)]))
    paths["array"].write_text(json.dumps(RESOURCES))
    ndjson = "\n".join(json.dumps(r) for r in RESOURCES) + "\n"
    paths["ndjson"].write_text(ndjson)
    paths["gz"].write_bytes(gzip.compress(ndjson.encode()))
    paths["pretty"].write_text(json.dumps(page(RESOURCES), indent=2))
    return paths


def test_every_input_format_gives_the_same_tables(tmp_path: Path, store: Store) -> None:
    results = {}
    for name, path in write_formats(tmp_path).items():
        import_files(store, [path], system="okta", cycle=name)
        results[name] = tables(store, cycle=name)
    reference = results.pop("ndjson")
    assert reference["users"].height == 5
    assert reference["memberships"].height == 2
    for name, got in results.items():
        for table in ("users", "groups", "memberships"):
            left = reference[table].drop("raw") if "raw" in reference[table].columns else reference[table]
            right = got[table].drop("raw") if "raw" in got[table].columns else got[table]
            assert left.equals(right), f"{name} {table}"


def test_tables_pass_their_pandera_models(tmp_path: Path, store: Store) -> None:
    import_files(store, [write_formats(tmp_path)["ndjson"]], system="okta", cycle="c1")
    for name, frame in tables(store).items():
        report = validate_table(name, frame)
        assert report.ok, report.problems


def test_same_input_twice_gives_byte_identical_tables(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "many.ndjson"
    rows = users(3000)
    rows.reverse()  # input order must not matter for the output order
    path.write_text("\n".join(json.dumps(r) for r in rows))
    import_files(store, [path], system="okta", cycle="a")
    import_files(store, [path], system="okta", cycle="b")
    for table in ("users", "groups", "memberships"):
        a = store.export("okta", "a").table(table).read_bytes()
        b = store.export("okta", "b").table(table).read_bytes()
        assert a == b, table
    ids = tables(store, cycle="a")["users"]["id"].to_list()
    assert ids == sorted(ids)


def test_duplicate_ids_keep_one_and_are_counted(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "dups.ndjson"
    first = users(2)
    copy = dict(first[0], userName="second-copy@example.com")
    path.write_text("\n".join(json.dumps(r) for r in [*first, copy, group("g1", ["u0000"]), group("g1", [])]))
    result = import_files(store, [path], system="okta", cycle="c1")
    got = tables(store)
    assert got["users"].height == 2
    assert got["users"].filter(pl.col("id") == "u0000")["user_name"].item() == "user0@example.com"
    assert got["memberships"]["member_id"].to_list() == ["u0000"]  # from the kept (first) copy of g1
    assert result.manifest.duplicates_dropped == 2
    assert [a["kind"] for a in result.manifest.anomalies] == ["duplicate_ids"]


def test_delta_import_records_filter_and_watermark(tmp_path: Path, store: Store) -> None:
    path = write_formats(tmp_path)["ndjson"]
    result = import_files(
        store, [path], system="okta", cycle="c2", kind="delta", since="2026-01-01T12:00:00+02:00"
    )
    manifest = store.export("okta", "c2", "delta").manifest()
    assert manifest.kind == "delta"
    assert manifest.watermark == "2026-01-01T10:00:00Z"
    assert manifest.filter == 'meta.lastModified gt "2026-01-01T10:00:00Z"'
    assert result.manifest.watermark == manifest.watermark


def test_since_requires_delta_kind(tmp_path: Path, store: Store) -> None:
    with pytest.raises(UsageError, match="--kind delta"):
        import_files(store, [tmp_path], system="okta", cycle="c1", since="2026-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"id": "u1", "schemas": ["x"]}\n{"id": "u2", oops}\n', "lines.ndjson:2: invalid JSON"),
        ('{\n  "Resources": [\n    {"id": 1,}\n  ]\n}\n', "lines.ndjson:3:14: invalid JSON"),
        ("[1, 2", "lines.ndjson:1:6: invalid JSON"),
        ("<html>login</html>", "lines.ndjson:1: expected a JSON object or array"),
        ("", "lines.ndjson: empty file"),
    ],
)
def test_invalid_json_stops_with_file_and_line_and_publishes_nothing(
    tmp_path: Path, store: Store, content: str, where: str
) -> None:
    path = tmp_path / "lines.ndjson"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        import_files(store, [path], system="okta", cycle="c1")
    assert where in str(info.value)
    assert not store.export("okta", "c1").path.exists()
    assert list((store.root / ".staging").iterdir()) == []


def _bad_resources(tmp_path: Path) -> Path:
    good = users(3)
    bad = [
        {"schemas": [USER_SCHEMA], "userName": "no-id"},
        {"id": "x1", "userName": "no-schemas"},
        {"schemas": ["urn:example:Device"], "id": "d1"},
        {"schemas": [USER_SCHEMA], "id": "u-bad", "active": "maybe"},
    ]
    path = tmp_path / "mixed.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in [*good, *bad]))
    return path


def test_rejected_resources_fail_the_import_with_a_readable_list(tmp_path: Path, store: Store) -> None:
    with pytest.raises(ImportRejected) as info:
        import_files(store, [_bad_resources(tmp_path)], system="okta", cycle="c1")
    message = str(info.value)
    assert "4 resource(s) rejected, nothing imported" in message
    assert "mixed.ndjson: line 4: id: missing" in message
    assert "line 5 (id x1): schemas: missing" in message
    assert "line 6 (id d1): unknown resource type" in message
    assert "line 7 (id u-bad): active: expected a boolean" in message
    assert len(info.value.problems) == 4
    assert not store.export("okta", "c1").path.exists()


def test_lenient_import_keeps_valid_rows_and_writes_rejects(tmp_path: Path, store: Store) -> None:
    result = import_files(store, [_bad_resources(tmp_path)], system="okta", cycle="c1", lenient=True)
    assert tables(store)["users"].height == 3
    assert result.rejects_path is not None
    rejects = pl.read_parquet(result.rejects_path)
    assert rejects.height == 4
    assert set(rejects.columns) == {"file", "position", "id", "reason", "raw"}
    assert rejects.filter(pl.col("id") == "u-bad")["reason"].item().startswith("active: expected a boolean")
    manifest = store.export("okta", "c1").manifest()
    assert manifest.status == "partial"
    assert manifest.rejected == 4
    # a partial export is never picked as the latest complete one
    assert store.cycles("okta") == []


def test_large_page_file_streams_resources(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(page(users(20_000))))
    result = import_files(store, [path], system="okta", cycle="c1")
    assert result.manifest.rows["users"] == 20_000
    assert result.manifest.items_received == {"Users": 20_000, "Groups": 0}
