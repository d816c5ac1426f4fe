"""Hostile and careless import files: none imports as a complete export it is not, none
takes more than the memory cap, every one ends with one line (issue 16, classes 1-3)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from recon.store import Store

from .helpers import LIST, USER, Outcome, assert_one_line_error, recon, user, write_ndjson


def _users(data: Path, cycle: str) -> list[str]:
    ref = Store(data).export("s", cycle)
    assert json.loads(ref.manifest_path.read_text())["status"] == "complete"
    return sorted(pq.read_table(ref.table("users"), columns=["id"]).column("id").to_pylist())


def _import(
    tmp_path: Path,
    path: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    cycle: str = "c1",
    isolate: bool = False,
) -> Outcome:
    data = str(tmp_path / "d")
    return recon(
        "import",
        str(path),
        "--system",
        "s",
        "--cycle",
        cycle,
        "--data-dir",
        data,
        *extra,
        env=env,
        isolate=isolate,
    )


def test_pretty_printed_single_user_imports_as_that_user(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(user(1), indent=2))
    outcome = _import(tmp_path, path)
    assert outcome.code == 0, outcome.stderr
    assert _users(tmp_path / "d", "c1") == ["u00001"]


@pytest.mark.parametrize("key", ["resources", "RESOURCES", "ReSources"])
def test_resources_key_in_another_case_is_read_and_noted(tmp_path: Path, key: str) -> None:
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"schemas": [LIST], "totalResults": 2, key: [user(1), user(2)]}))
    outcome = _import(tmp_path, path)
    assert outcome.code == 0, outcome.stderr
    assert _users(tmp_path / "d", "c1") == ["u00001", "u00002"]
    manifest = json.loads((Store(tmp_path / "d").export("s", "c1").manifest_path).read_text())
    assert [a["kind"] for a in manifest["anomalies"]] == ["resources_key_case"]


def test_array_of_pages_with_lowercase_key_is_read(tmp_path: Path) -> None:
    path = tmp_path / "pages.json"
    path.write_text(
        json.dumps([{"schemas": [LIST], "resources": [user(1)]}, {"schemas": [LIST], "resources": [user(2)]}])
    )
    outcome = _import(tmp_path, path)
    assert outcome.code == 0, outcome.stderr
    assert _users(tmp_path / "d", "c1") == ["u00001", "u00002"]


def test_lone_surrogate_on_one_line_is_rejected_by_name_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{"schemas":["' + USER + '"],"id":"u1","userName":"a\\ud800b"}\n')
    line = assert_one_line_error(_import(tmp_path, path), "line 1 (id u1)", "surrogates")
    assert "nothing imported" in line
    assert not (tmp_path / "d" / "exports").exists() or not list(
        (tmp_path / "d" / "exports").rglob("manifest.json")
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"foo": {"bar": 1},\n "baz": 2}', "a JSON object with no Resources list (keys: foo, baz)"),
        ("[]", "empty JSON array"),
        (
            '{"schemas": ["' + LIST + '"],\n "totalResults": 5, "Resources": []}',
            "empty Resources list but totalResults 5",
        ),
        ('{"schemas": ["' + LIST + '"], "Resources": []}\n', "no resources in 1 line(s)"),
    ],
)
def test_zero_resources_from_a_non_empty_file_is_an_error(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(text)
    assert_one_line_error(_import(tmp_path, path), said)
    assert not list((tmp_path / "d").rglob("manifest.json"))


def test_list_response_saying_total_zero_is_an_empty_export(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"schemas": [LIST], "totalResults": 0, "Resources": []}, indent=1))
    outcome = _import(tmp_path, path)
    assert outcome.code == 0, outcome.stderr
    assert _users(tmp_path / "d", "c1") == []


def test_timestamp_out_of_range_is_a_reject_even_lenient(tmp_path: Path) -> None:
    path = write_ndjson(
        tmp_path / "f.ndjson", [user(1), user(2, meta={"lastModified": "9999-12-31T23:59:59-23:59"})]
    )
    assert_one_line_error(
        _import(tmp_path, path), "line 2 (id u00002): meta.lastModified", "out of the representable range"
    )
    outcome = _import(tmp_path, path, "--lenient")
    assert outcome.code == 0 and "Traceback" not in outcome.stderr, outcome.stderr
    assert sorted(
        pq.read_table(Store(tmp_path / "d").export("s", "c1").table("users")).column("id").to_pylist()
    ) == ["u00001"]


def test_truncated_gzip_is_one_line(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(json.dumps(user(n)).encode() + b"\n" for n in range(2000)))
    path = tmp_path / "f.ndjson.gz"
    path.write_bytes(data[: len(data) // 2])
    assert_one_line_error(_import(tmp_path, path), "gzip data is truncated or damaged")


def test_400kb_of_open_brackets_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 400_000)
    outcome = _import(tmp_path, path, isolate=True)
    assert_one_line_error(outcome, "nested deeper than 64 levels", "RECON_MAX_JSON_DEPTH")
    assert outcome.peak_mb < 400, outcome.peak_mb


def test_brackets_inside_strings_do_not_count_as_depth(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps([user(1, title="[" * 500 + '\\"' + "{" * 500)]))
    outcome = _import(tmp_path, path)
    assert outcome.code == 0, outcome.stderr


@pytest.mark.parametrize("shape", ["array", "ndjson", "listresponse"])
def test_attribute_nested_300_deep_is_one_line(tmp_path: Path, shape: str) -> None:
    value: object = 1
    for _ in range(300):
        value = {"a": value}
    deep = user(1, x=value)
    path = tmp_path / "f.json"
    if shape == "array":
        path.write_text(json.dumps([deep]))
    elif shape == "ndjson":
        write_ndjson(path, [deep])
    else:
        path.write_text(json.dumps({"schemas": [LIST], "Resources": [deep]}))
    assert_one_line_error(_import(tmp_path, path), "nested deeper than 64 levels")


def test_depth_limit_can_be_raised(tmp_path: Path) -> None:
    value: object = 1
    for _ in range(80):
        value = {"a": value}
    path = write_ndjson(tmp_path / "f.ndjson", [user(1, x=value)])
    assert _import(tmp_path, path).code == 2
    assert _import(tmp_path, path, env={"RECON_MAX_JSON_DEPTH": "100"}).code == 0


def test_huge_line_in_small_gzip_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.ndjson.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(json.dumps(user(1)).encode() + b"\n")
        out.write(b'{"schemas":["%s"],"id":"u2","x":"' % USER.encode())
        block = b"a" * (1 << 20)
        for _ in range(96):  # a 96 MiB line, 100 KB compressed
            out.write(block)
        out.write(b'"}\n')
    assert path.stat().st_size < 2_000_000
    env = {"RECON_MAX_RESOURCE_BYTES": "16MiB"}
    outcome = _import(tmp_path, path, env=env, isolate=True)
    assert_one_line_error(outcome, "line 2: line longer than 16 MiB", "RECON_MAX_RESOURCE_BYTES")
    assert outcome.peak_mb < 400, outcome.peak_mb
    lenient = _import(tmp_path, path, "--lenient", env=env, isolate=True)
    assert lenient.code == 0, lenient.stderr
    assert lenient.peak_mb < 400, lenient.peak_mb
    manifest = json.loads(Store(tmp_path / "d").export("s", "c1").manifest_path.read_text())
    assert manifest["status"] == "partial" and manifest["rejected"] == 1


def test_huge_resource_inside_a_json_document_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("w") as out:
        out.write(f'{{"schemas": ["{LIST}"], "Resources": [{json.dumps(user(1))}, ')
        out.write(f'{{"schemas": ["{USER}"], "id": "u2", "x": [')
        out.write(",".join(['"abcdefghij"'] * 400_000))
        out.write("]}]}")
    outcome = _import(tmp_path, path, env={"RECON_MAX_RESOURCE_BYTES": "2MiB"}, isolate=True)
    assert_one_line_error(outcome, "one resource is larger than 2 MiB", "RECON_MAX_RESOURCE_BYTES")


def test_bad_limit_value_is_one_line(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "f.ndjson", [user(1)])
    assert_one_line_error(
        _import(tmp_path, path, env={"RECON_MAX_JSON_DEPTH": "banana"}), "RECON_MAX_JSON_DEPTH"
    )
    assert_one_line_error(_import(tmp_path, path, env={"RECON_MEMORY_LIMIT": "banana"}), "RECON_MEMORY_LIMIT")
