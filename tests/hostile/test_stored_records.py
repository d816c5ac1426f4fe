"""recon's own JSON records (manifests, capabilities, summaries) damaged on disk: one line, exit 2.

The data folder may be edited, synced or truncated by hand; every record is read through
``store.read_json_object``, so a record that is not a JSON object is named, never half-read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.errors import InputError
from recon.store import Store, read_json_object

from .helpers import assert_one_line_error, recon, user, write_ndjson

DAMAGE = {
    "a list": b"[1, 2]",
    "a string": b'"complete"',
    "not JSON": b'{"status": "complete",',
    "not UTF-8": b'{"status": "\xff\xfe"}',
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_record_is_named_not_half_read(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "summary.json"
    path.write_bytes(DAMAGE[damage])
    with pytest.raises(InputError) as caught:
        read_json_object(path)
    assert str(path) in str(caught.value)


def test_a_missing_record_is_none_and_an_object_is_returned(tmp_path: Path) -> None:
    assert read_json_object(tmp_path / "absent.json") is None
    (tmp_path / "ok.json").write_text(json.dumps({"status": "complete"}))
    assert read_json_object(tmp_path / "ok.json") == {"status": "complete"}


@pytest.mark.parametrize("record", ["manifest", "capabilities"])
def test_a_command_over_a_damaged_record_ends_in_one_line(tmp_path: Path, record: str) -> None:
    data = tmp_path / "d"
    source = write_ndjson(tmp_path / "users.ndjson", [user(1), user(2)])
    done = recon("import", str(source), "--system", "s", "--cycle", "c1", "--data-dir", str(data))
    assert done.code == 0, done.stderr
    store = Store(data)
    if record == "manifest":
        damaged = store.export("s", "c1").manifest_path
    else:
        damaged = store.capabilities_dir("s") / "capabilities.json"
        damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_bytes(DAMAGE["a list"])
    outcome = recon("validate", "--system", "s", "--data-dir", str(data))
    assert_one_line_error(outcome, str(damaged), "expected a JSON object")
