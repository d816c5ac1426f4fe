"""One audit per data folder: a live holder is refused (exit 2, one line naming it); the lock of a
process killed with SIGKILL is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from recon.audit.lock import AuditLock, LockHeld
from recon.cli import main
from recon.store import Store

_HOLD = """
import sys, time
from pathlib import Path
from recon.audit.lock import AuditLock
lock = AuditLock(Path(sys.argv[1]), "20990101T000000Z")
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def _holder(lock_path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(lock_path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_running_audit_is_refused_then_its_lock_is_taken_over_after_kill_9(
    sim_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(sim_copy)
    args = ["audit", "--data-dir", str(sim_copy), "--config", str(sim_copy / "recon.toml")]
    process = _holder(store.audit_lock_path)
    try:
        code = main([*args, "--only", "reconcile"])
        err = capsys.readouterr().err
        assert code == 2
        assert err.count("\n") == 1
        assert f"pid {process.pid} on {socket.gethostname()}" in err and "cycle 20990101T000000Z" in err
        assert not (sim_copy / "findings").exists() or not any((sim_copy / "findings").rglob("cycle=*")), (
            "nothing may run while the lock is held"
        )
        assert json.loads(store.audit_lock_path.read_text())["pid"] == process.pid
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert store.audit_lock_path.is_file(), "kill -9 leaves the lock behind"

    code = main([*args, "--only", "reconcile", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["took_over_stale_lock"]["pid"] == process.pid
    assert [run["status"] for run in out["stages"]] == ["ok", "ok"]
    assert not store.audit_lock_path.exists(), "the audit releases its lock when done"


def test_two_locks_in_one_process_and_a_foreign_host(tmp_path: Path) -> None:
    path = tmp_path / ".audit.lock"
    with AuditLock(path, "c1"), pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
        AuditLock(path, "c2").acquire()
    assert not path.exists()
    # A holder on another host cannot be checked from here: never taken over.
    path.write_text(
        json.dumps({"pid": 1, "host": "elsewhere.example", "started": "x", "cycle": "c0", "token": "t"}),
        encoding="utf-8",
    )
    with pytest.raises(LockHeld, match="another host"):
        AuditLock(path, "c3").acquire()
    # An unreadable lock file was not written by recon audit: stale.
    path.write_text("garbage", encoding="utf-8")
    lock = AuditLock(path, "c4")
    lock.acquire()
    assert json.loads(path.read_text(encoding="utf-8"))["cycle"] == "c4"
    lock.release()
    assert not path.exists()


_RACE = """
import sys, time
from pathlib import Path
from recon.audit.lock import AuditLock, LockHeld
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
lock = AuditLock(Path(sys.argv[1]), "race")
try:
    lock.acquire()
except LockHeld:
    print("refused", flush=True)
else:
    print("won", flush=True)
    time.sleep(3)
    lock.release()
"""


def test_of_several_audits_taking_over_one_stale_lock_exactly_one_wins(tmp_path: Path) -> None:
    import time

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    path = tmp_path / ".audit.lock"
    stale = {"pid": gone.pid, "host": socket.gethostname(), "started": "x", "cycle": "old", "token": "t"}
    path.write_text(json.dumps(stale), encoding="utf-8")
    start = str(time.time() + 2.0)  # every contender starts at the same moment
    contenders = [
        subprocess.Popen([sys.executable, "-c", _RACE, str(path), start], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outcomes = sorted(process.communicate(timeout=60)[0].strip() for process in contenders)
    assert outcomes == ["refused", "refused", "refused", "won"]
    assert not path.exists()


def test_a_terminated_audit_exits_130_and_releases_its_lock(sim_copy: Path) -> None:
    import time

    store = Store(sim_copy)
    args = [
        "--data-dir",
        str(sim_copy),
        "--config",
        str(sim_copy / "recon.toml"),
        "--only",
        "validate,reconcile",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "recon", "audit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not store.audit_lock_path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.audit_lock_path.exists(), "the audit never took its lock"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("recon: interrupted; audit of cycle ")
    assert "Traceback" not in err
    assert not store.audit_lock_path.exists()


class _Terminated(BaseException):
    """Stands in for the exception recon raises on SIGTERM."""


@pytest.mark.parametrize("stale", [False, True], ids=["fresh lock", "stale lock taken over"])
def test_a_signal_landing_just_after_the_lock_is_ours_still_releases_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stale: bool
) -> None:
    # The window between the link that makes the lock ours and the end of __enter__ cannot be
    # hit on purpose by a real signal (the subprocess test above hits it by chance); a link that
    # succeeds and then "receives" the signal reproduces it exactly.
    path = tmp_path / ".audit.lock"
    if stale:
        dead = {"pid": 2**22 + 17, "host": socket.gethostname(), "started": "x", "cycle": "c", "token": "t"}
        path.write_text(json.dumps(dead))
    real_replace, real_link = os.replace, os.link

    def link_then_signal(src: object, dst: object) -> None:
        real_link(src, dst)  # type: ignore[arg-type]
        if str(dst) == str(path):
            raise _Terminated

    def replace_then_signal(src: object, dst: object) -> None:
        real_replace(src, dst)  # type: ignore[arg-type]
        raise _Terminated

    monkeypatch.setattr("recon.audit.lock.os.link", link_then_signal)
    monkeypatch.setattr("recon.audit.lock.os.replace", replace_then_signal)
    with pytest.raises(_Terminated), AuditLock(path, "20990101T000000Z"):
        pass
    assert not path.exists()
    assert not [p.name for p in tmp_path.iterdir()], "a temporary lock file was left behind"
