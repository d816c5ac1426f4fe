"""The audit lock: one ``recon audit`` at a time on a data folder.

The lock is a small JSON file (:attr:`recon.store.Store.audit_lock_path`) naming its holder: pid,
host, start time, cycle and a random token. It is created with ``O_CREAT | O_EXCL``, so of two
audits starting together exactly one gets it. A lock left by a process that died (``kill -9``, a
power cut) is *stale*: when its host is this host and ``os.kill(pid, 0)`` says the pid is gone, the
next audit takes it over. Two audits taking over the same stale lock are serialised by ``flock`` on
the stale file and each re-reads the path before replacing it, so only one wins. A lock held on
another host cannot be checked from here and is never taken over (the message says so).

Known limit: a pid reused by an unrelated process after the holder died keeps the lock held until
that process ends (the message names the pid, so an operator can remove the file).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recon.errors import UsageError

__all__ = ["AuditLock", "Holder", "LockHeld"]

_MAX_LOCK_BYTES = 4096


class LockHeld(UsageError):
    """Another audit holds the lock (exit code 2, one line naming the holder)."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) the lock."""

    pid: int
    host: str
    started: str
    cycle: str
    token: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started}, cycle {self.cycle}"

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "host": self.host,
            "started": self.started,
            "cycle": self.cycle,
            "token": self.token,
        }


class AuditLock:
    """``with AuditLock(path, cycle) as lock:`` holds the lock for the block (or raises LockHeld)."""

    def __init__(self, path: Path, cycle: str) -> None:
        self.path = path
        self.me = Holder(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            cycle=cycle,
            token=uuid.uuid4().hex,
        )
        self.took_over: Holder | None = None

    def __enter__(self) -> AuditLock:
        try:
            self.acquire()
        except BaseException:
            # A signal (SIGTERM is raised as an exception) can land after the link made the lock
            # ours but before acquire returns; __exit__ would then never run and the lock would
            # outlive us. release() removes it only if it carries our token.
            self.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or take over a stale one; raise :class:`LockHeld` naming a live holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = (json.dumps(self.me.to_json(), sort_keys=True) + "\n").encode("utf-8")
        tmp = self.path.with_name(f"{self.path.name}.{self.me.token}.tmp")
        tmp.write_bytes(payload)
        try:
            for _ in range(5):  # a holder that releases between our attempts: try again
                try:
                    os.link(tmp, self.path)  # atomic, fails when the lock exists; never seen half-written
                except FileExistsError:
                    if self._take_over_stale(tmp):
                        return
                    continue
                return
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise LockHeld(f"{self.path}: could not take the audit lock (it changed hands repeatedly)")

    def _take_over_stale(self, tmp: Path) -> bool:
        """True when the lock was stale and is now ours; False when it vanished (retry)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        with os.fdopen(fd, "rb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # serialise takers of this stale file
            try:
                current = os.stat(self.path)
            except FileNotFoundError:
                return False
            if current.st_ino != os.fstat(handle.fileno()).st_ino:
                return False  # replaced while we waited: look again
            holder = _read_holder(handle.read(_MAX_LOCK_BYTES))
            if holder is not None and not self._dead(holder):
                raise LockHeld(
                    f"another recon audit holds the lock on this data folder ({holder.describe()}): "
                    f"{self.path}"
                    + (
                        "; it runs on another host, so recon cannot tell whether it is alive "
                        "(remove the file if you are sure it is not)"
                        if holder.host != self.me.host
                        else ""
                    )
                )
            os.link(tmp, self.path.with_name(f"{tmp.name}.new"))
            os.replace(self.path.with_name(f"{tmp.name}.new"), self.path)
            self.took_over = holder
            return True

    def _dead(self, holder: Holder) -> bool:
        if holder.host != self.me.host:
            return False
        if holder.pid == self.me.pid:
            return False  # our own pid: an earlier audit in this process still holds it
        try:
            os.kill(holder.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, owned by another user
        return False

    def release(self) -> None:
        """Remove the lock file if it is still ours."""
        try:
            holder = _read_holder(self.path.read_bytes()[:_MAX_LOCK_BYTES])
        except FileNotFoundError:
            return
        if holder is not None and holder.token == self.me.token:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def _read_holder(data: bytes) -> Holder | None:
    """The holder in a lock file; None when unreadable (not written by recon audit: treated as stale)."""
    try:
        raw = json.loads(data.decode("utf-8"))
        return Holder(
            pid=int(raw["pid"]),
            host=str(raw["host"]),
            started=str(raw["started"]),
            cycle=str(raw["cycle"]),
            token=str(raw["token"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
