"""Publishing never loses data: failures injected at each rename, kills between them, SIGTERM,
a partial run over a complete export, an import over an existing cycle (issue 16, class 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from recon import store as store_module
from recon.store import Store

from .helpers import assert_one_line_error, recon, user, write_ndjson

sys.path.insert(0, str(Path(__file__).parents[1] / "extract"))
from fake_scim import FakeScim, capabilities

from recon.extract.live import ExtractRequest, extract_live


def _publish(store: Store, final: Path, text: str) -> None:
    with store.publishing(final) as staging:
        (staging / "manifest.json").write_text(text)


def _left_in_staging(store: Store) -> list[str]:
    root = store.staging_root
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize("failing", [1, 2])
@pytest.mark.parametrize("error", [OSError("disk gone"), KeyboardInterrupt()])
def test_failure_at_each_rename_keeps_the_published_folder(
    store: Store, monkeypatch: pytest.MonkeyPatch, failing: int, error: BaseException
) -> None:
    final = store.root / "exports" / "x"
    _publish(store, final, "old")
    calls = []
    real = store_module._rename

    def rename(source: Path, target: Path) -> None:
        calls.append(source)
        if len(calls) == failing:
            raise error
        real(source, target)

    monkeypatch.setattr(store_module, "_rename", rename)
    with pytest.raises(type(error)):
        _publish(store, final, "new")
    assert (final / "manifest.json").read_text() == "old"
    assert _left_in_staging(store) == []


def test_restore_failing_too_leaves_a_record_the_next_run_follows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = store.root / "exports" / "x"
    _publish(store, final, "old")
    real = store_module._rename
    calls = []

    def rename(source: Path, target: Path) -> None:
        calls.append(source)
        if len(calls) >= 2:  # the final rename and the restore both fail
            raise OSError("disk gone")
        real(source, target)

    monkeypatch.setattr(store_module, "_rename", rename)
    with pytest.raises(OSError):
        _publish(store, final, "new")
    assert not final.exists()
    monkeypatch.setattr(store_module, "_rename", real)
    assert [p for p in _left_in_staging(store) if p.endswith(".old")]
    store.recover()  # the next run
    assert (final / "manifest.json").read_text() == "old"
    assert _left_in_staging(store) == []


_KILLED = """
import os, signal, sys
from pathlib import Path
from recon import store as s
real, calls = s._rename, []
def rename(a, b):
    calls.append(a)
    if len(calls) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
    real(a, b)
s._rename = rename
st = s.Store(sys.argv[1])
with st.publishing(st.root / "exports" / "x") as staging:
    (staging / "manifest.json").write_text("new")
"""


@pytest.mark.parametrize("killed_at", [1, 2])
def test_kill_between_renames_is_recovered_by_the_next_run(store: Store, killed_at: int) -> None:
    final = store.root / "exports" / "x"
    _publish(store, final, "old")
    done = subprocess.run([sys.executable, "-c", _KILLED, str(store.root), str(killed_at)], check=False)
    assert done.returncode == -signal.SIGKILL
    assert _left_in_staging(store)  # the killed run left its staging (and maybe the moved folder)
    notes = store.recover()
    assert (final / "manifest.json").read_text() == "old"
    assert _left_in_staging(store) == []
    assert notes


def test_staging_of_a_running_publish_is_not_touched(store: Store) -> None:
    with store.publishing(store.root / "exports" / "y") as staging:
        (staging / "f").write_text("x")
        store.recover()  # another run starting meanwhile
        assert (staging / "f").read_text() == "x"
    assert (store.root / "exports" / "y" / "f").read_text() == "x"


def test_import_over_an_existing_cycle_needs_force(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    first = write_ndjson(tmp_path / "a.ndjson", [user(1), user(2)])
    second = write_ndjson(tmp_path / "b.ndjson", [user(3)])
    args = ("--system", "s", "--cycle", "c1", "--data-dir", data)
    assert recon("import", str(first), *args).code == 0
    assert_one_line_error(
        recon("import", str(second), *args), "already has a full export for cycle c1", "--force"
    )
    users = Store(data).export("s", "c1").table("users")
    assert pq.read_table(users).column("id").to_pylist() == ["u00001", "u00002"]
    assert recon("import", str(second), *args, "--force").code == 0
    assert pq.read_table(users).column("id").to_pylist() == ["u00003"]


def test_sigterm_during_import_exits_130_and_keeps_the_old_export(tmp_path: Path) -> None:
    data = tmp_path / "d"
    first = write_ndjson(tmp_path / "a.ndjson", [user(1)])
    assert recon("import", str(first), "--system", "s", "--cycle", "c1", "--data-dir", str(data)).code == 0
    fifo = tmp_path / "slow.ndjson"
    os.mkfifo(fifo)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "recon",
            "import",
            str(fifo),
            "--system",
            "s",
            "--cycle",
            "c1",
            "--data-dir",
            str(data),
            "--force",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    with fifo.open("w") as writer:  # the import reads the first lines, then waits for more
        writer.write(json.dumps(user(5)) + "\n")
        writer.flush()
        time.sleep(1.5)
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr
    users = Store(data).export("s", "c1").table("users")
    assert pq.read_table(users).column("id").to_pylist() == ["u00001"]
    assert _left_in_staging(Store(data)) == []


def test_partial_extract_never_replaces_a_complete_one(store: Store) -> None:
    def extract(fake: FakeScim):
        with fake.client() as client:
            return extract_live(
                store,
                client,
                ExtractRequest(system="fake", cycle="c1", resources=("Users",)),
                capabilities=capabilities(),
                page_size=10,
            )

    complete = extract(FakeScim(users=25))
    assert complete.complete and complete.held is None
    partial = extract(FakeScim(users=20, total_lie=40))
    assert not partial.complete
    assert partial.held is not None and (partial.held / "manifest.json").is_file()
    kept = store.export("fake", "c1")
    assert kept.manifest().status == "complete"
    assert pq.read_table(kept.table("users")).num_rows == 25
    assert json.loads((partial.held / "manifest.json").read_text())["status"] == "partial"
    assert not str(partial.held).startswith(str(store.exports_root))
