"""``recon import`` with plain Users made into columns gives exactly what normalising each resource
gives: the same Parquet bytes, manifest (timestamps apart), rejects, anomalies and errors."""

from __future__ import annotations

import gzip
import json
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recon.extract.files as files_module
import recon.extract.writer as writer_module
import recon.row_groups as row_groups_module
from recon.errors import ImportRejected, InputError
from recon.extract.files import import_files
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA
from recon.store import Store

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
TABLES = ("users", "groups", "memberships")
FORMATS = ("ndjson", "ndjson_pages", "list_response", "array_pages", "array", "ndjson_gz")


def plain_user(i: int, rid: str) -> dict[str, Any]:
    user: dict[str, Any] = {
        "schemas": [USER_SCHEMA, ENTERPRISE_USER] if i % 2 else [USER_SCHEMA],
        "id": rid,
        "userName": f"user{i}@example.com",
        "active": i % 3 != 0,
        "name": {"givenName": f"Given{i}", "familyName": "Ødegård 😀"},
        "emails": [
            {"value": f"h{i}@home", "type": "home"},
            {"value": f"w{i}@x", "type": "WORK", "primary": i % 4 == 0},
        ][: i % 3],
        "x-score": i / 7,  # a float where nobody looks: ijson reads it as a float
        "meta": {"created": "2025-06-01T08:00:00Z", "lastModified": f"2026-01-01T10:{i % 60:02d}:00+01:00"},
    }
    if i % 2:
        user[ENTERPRISE_USER] = {"department": ["R&D", "Sales", None][i % 3], "manager": {"value": "u1"}}
    return user


def odd_resource(kind: str, i: int, rid: str) -> Any:
    """A resource that ``normalise`` coerces, annotates or rejects, or a group."""
    user = plain_user(i, rid)
    if kind == "bool_string":
        return {**user, "active": "true"}
    if kind == "no_offset":
        return {**user, "meta": {"lastModified": "2026-01-01T10:00:00"}}
    if kind == "number":
        return {**user, ENTERPRISE_USER: {"employeeNumber": 1234}}
    if kind == "no_id":
        return {k: v for k, v in user.items() if k != "id"}
    if kind == "bad_active":
        return {**user, "active": 5}
    if kind == "not_object":
        return [1, 2]
    if kind == "group":
        return {
            "schemas": [GROUP_SCHEMA],
            "id": f"g-{rid}",
            "displayName": f"Group {i}",
            "members": [{"value": rid, "type": "User"}, {"value": "u1", "$ref": "https://x/Users/u1"}],
            "meta": {"lastModified": "2026-01-01T10:00:00Z"},
        }
    raise AssertionError(kind)


ODD_KINDS = ("bool_string", "no_offset", "number", "no_id", "bad_active", "not_object", "group")


def line_text(resource: Any, style: int) -> bytes:
    """One NDJSON line for ``resource``, in one of several spellings of the same JSON."""
    if style == 0:
        return orjson.dumps(resource)
    if style == 1:
        return json.dumps(resource).encode()  # ", " and ": ", non-ASCII as \\u escapes
    if style == 2:
        return b"  " + json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode() + b" \r"
    return b"\t" + json.dumps(resource, ensure_ascii=False, separators=(" , ", " : ")).encode()


def write_file(path: Path, resources: list[Any], fmt: str, style: int) -> Path:
    chunks = [resources[i : i + 5] for i in range(0, len(resources), 5)]
    page = [{"schemas": [LIST], "totalResults": len(resources), "Resources": chunk} for chunk in chunks]
    if fmt in ("ndjson", "ndjson_gz"):
        text = b"\n".join(line_text(r, (style + i) % 4) for i, r in enumerate(resources)) + b"\n\n"
        if fmt == "ndjson_gz":
            path = path.with_suffix(".ndjson.gz")
            path.write_bytes(gzip.compress(text))
            return path
    elif fmt == "ndjson_pages":  # resource lines, and now and then a ListResponse page on one line
        lines: list[bytes] = []
        for index, chunk in enumerate(chunks):
            if index % 3 == 1:
                lines.append(orjson.dumps(page[index]))
            else:
                lines += [line_text(r, style) for r in chunk]
        text = b"\n".join(lines)
    elif fmt == "list_response":
        text = json.dumps({"schemas": [LIST], "Resources": resources}, indent=1).encode()
    elif fmt == "array_pages":
        text = orjson.dumps(page)
    else:
        text = json.dumps(resources).encode()
    path.write_bytes(text)
    return path


@contextmanager
def fast_path(on: bool, calls: list[int]) -> Iterator[None]:
    """The fast path on or off; ``calls`` collects the rows of each batch of columns written."""
    original = writer_module.ExportWriter.add_users

    def counted(self: Any, batch: Any) -> None:
        calls.append(batch.num_rows)
        original(self, batch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files_module, "FAST_PATH", on)
        patch.setattr(files_module, "FAST_PAGE", 4)  # small pages: groups of them span odd resources
        patch.setattr(row_groups_module, "ROW_GROUP_ROWS", 8)
        patch.setattr(writer_module.ExportWriter, "add_users", counted)
        yield


def outcome(root: Path, paths: list[Path], *, lenient: bool, on: bool, calls: list[int]) -> dict[str, Any]:
    """Everything an import leaves behind (or the error it raises), comparable across runs."""
    store = Store(root / ("fast" if on else "slow"))
    with fast_path(on, calls):
        try:
            result = import_files(store, paths, system="s", cycle="c1", lenient=lenient)
        except ImportRejected as exc:
            return {"error": type(exc).__name__, "message": str(exc), "problems": exc.problems}
        except InputError as exc:
            return {"error": type(exc).__name__, "message": str(exc)}
    manifest = json.loads((result.export_path / "manifest.json").read_text())
    for stamp in ("started", "finished"):
        assert manifest.pop(stamp)
    found = {table: (result.export_path / f"{table}.parquet").read_bytes() for table in TABLES}
    rejects = result.export_path / "rejects.parquet"
    return {**found, "manifest": manifest, "rejects": rejects.read_bytes() if rejects.exists() else None}


def both(root: Path, paths: list[Path], *, lenient: bool = True) -> tuple[dict[str, Any], list[int]]:
    """The outcome with and without the fast path (asserted equal), and the fast run's batches."""
    calls: list[int] = []
    slow = outcome(root, paths, lenient=lenient, on=False, calls=calls)
    assert calls == []
    fast = outcome(root, paths, lenient=lenient, on=True, calls=calls)
    assert fast == slow
    return fast, calls


def mixed(count: int, odd_every: int, seed: int, *, ordered: bool) -> list[Any]:
    rng = random.Random(seed)
    ids = [f"u{i:04d}" for i in range(count)]
    if not ordered:
        rng.shuffle(ids)
        ids[count // 2] = ids[1]  # a duplicate id
    resources: list[Any] = []
    for i, rid in enumerate(ids):
        if odd_every and i % odd_every == odd_every - 1:
            resources.append(odd_resource(ODD_KINDS[(i // odd_every) % len(ODD_KINDS)], i, rid))
        else:
            resources.append(plain_user(i, rid))
    return resources


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ordered", [True, False])
def test_each_format_gives_the_same_export_with_odd_resources_between_plain_users(
    tmp_path: Path, fmt: str, ordered: bool
) -> None:
    path = write_file(tmp_path / f"in-{fmt}.json", mixed(120, 9, seed=3, ordered=ordered), fmt, style=0)
    found, calls = both(tmp_path, [path])
    assert sum(calls) > 40  # most plain users went through the columns
    manifest = found["manifest"]
    kinds = {anomaly["kind"] for anomaly in manifest["anomalies"]}
    assert {"boolean_as_string", "timestamp_without_offset", "rejected_resources"} <= kinds
    assert manifest["rows"]["groups"] > 0 and manifest["rows"]["memberships"] > 0
    assert ("duplicate_ids" in kinds) is not ordered
    assert found["rejects"] is not None


def test_ndjson_lines_keep_their_own_text_as_raw(tmp_path: Path) -> None:
    resources = [plain_user(i, f"u{i:03d}") for i in range(30)]
    path = write_file(tmp_path / "in.ndjson", resources, "ndjson", style=1)
    found, calls = both(tmp_path, [path])
    assert sum(calls) == 30
    texts = pq.read_table(pa.BufferReader(found["users"])).column("raw").to_pylist()
    lines = path.read_bytes().decode().splitlines()
    assert texts == [line.strip() for line in lines if line.strip()]
    assert texts[0] == json.dumps(resources[0])  # the spelling of the file, not orjson's


def test_a_line_with_a_repeated_attribute_is_normalised_as_parsed(tmp_path: Path) -> None:
    users = [orjson.dumps(plain_user(i, f"u{i:03d}")) for i in range(12)]
    twice = users[5][:-1] + b',"userName":"second@example.com","name":{"givenName":"B"}}'
    lines = [*users[:5], twice, *users[6:]]
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"\n".join(lines))
    found, _ = both(tmp_path, [path])
    users_table = pq.read_table(pa.BufferReader(found["users"]))
    assert users_table.column("user_name")[5].as_py() == "second@example.com"
    assert users_table.column("raw")[5].as_py() == twice.decode()


def test_files_mixing_formats_and_users_after_groups(tmp_path: Path) -> None:
    first = write_file(tmp_path / "a.json", mixed(40, 0, seed=1, ordered=True), "array_pages", style=0)
    groups = [odd_resource("group", i, f"u{i:04d}") for i in [0, 1, 2, 3, 4, 5, 2]]  # g-u0002 twice
    second = write_file(tmp_path / "b.ndjson", [*groups, *mixed(30, 7, seed=2, ordered=False)], "ndjson", 2)
    found, calls = both(tmp_path, [first, second])
    assert calls and found["manifest"]["rows"]["groups"] == 6
    duplicates = next(a for a in found["manifest"]["anomalies"] if a["kind"] == "duplicate_ids")
    assert "Group g-u0002" in duplicates["examples"] and "User u0000" in duplicates["examples"]


def test_without_lenient_the_same_rejection(tmp_path: Path) -> None:
    path = write_file(tmp_path / "in.ndjson", mixed(60, 5, seed=4, ordered=True), "ndjson", style=0)
    found, _ = both(tmp_path, [path], lenient=False)
    assert found["error"] == "ImportRejected" and found["problems"]


@pytest.mark.parametrize("fmt", ["ndjson", "list_response"])
def test_invalid_json_after_plain_users_gives_the_same_error(tmp_path: Path, fmt: str) -> None:
    path = write_file(tmp_path / "in.json", mixed(50, 0, seed=5, ordered=True), fmt, style=0)
    text = path.read_bytes()
    cut = text.index(b'"u0030"')
    path.write_bytes(text[:cut] + b"{oops" + text[cut:])
    found, _ = both(tmp_path, [path])
    assert found["error"] == "InputError" and "invalid JSON" in found["message"]


@st.composite
def imports(draw: st.DrawFn) -> tuple[list[Any], str, int, bool]:
    count = draw(st.integers(0, 45))
    pool = draw(st.integers(max(count, 1), 2 * count + 1))
    ids = draw(st.lists(st.integers(0, pool), min_size=count, max_size=count))
    if draw(st.booleans()):
        ids = sorted(set(ids))  # the common case: increasing ids, the users written as they come
    resources: list[Any] = []
    for i, number in enumerate(ids):
        odd = draw(st.integers(0, 9))
        rid = f"u{number:03d}"
        resources.append(
            plain_user(i, rid) if odd >= len(ODD_KINDS) else odd_resource(ODD_KINDS[odd], i, rid)
        )
    return resources, draw(st.sampled_from(FORMATS)), draw(st.integers(0, 3)), draw(st.booleans())


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(imports())
def test_generated_imports_are_the_same_with_and_without_columns(
    case: tuple[list[Any], str, int, bool],
) -> None:
    resources, fmt, style, lenient = case
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = write_file(root / "in.json", resources, fmt, style)
        both(root, [path], lenient=lenient)
