"""The resume journal of a live extract: pages already received, kept outside the exports.

::

    <data>/.staging/extract-resume/<system>/<cycle>.<kind>/
        state.json      what the run was asked (filter, watermark, paging per resource, ...)
        pages.ndjson    one line per page, appended after the page file is in place
        pages/<Resource>-<n>.json   the page body as received (or as completed with members)

Nothing here looks like an export (no manifest.json, not under ``exports/``). A page file
appears by rename before its index line is appended, and a line is trusted only when its
file exists with the recorded size, so a kill at any moment leaves a usable prefix.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from recon.errors import InputError
from recon.scim.pages import PageRequest
from recon.store import Store, atomic_write_json

__all__ = ["ResumeJournal"]

_VERSION = 1
_WRITES_AHEAD = 4  # pages recorded but not yet written, at most


class ResumeJournal:
    """Pages of one interrupted (or running) extract, for ``recon extract --resume``."""

    def __init__(self, root: Path, settings: dict[str, Any]) -> None:
        self.root = root
        self.settings = settings
        self._pages_dir = root / "pages"
        self._index = root / "pages.ndjson"
        self._counts: dict[str, int] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._writing: deque[Future[None]] = deque()

    @staticmethod
    def folder(store: Store, system: str, cycle: str, kind: str) -> Path:
        """Where the journal of ``system``/``cycle``/``kind`` lives."""
        return store.resume_dir(system, cycle, kind)

    @classmethod
    def create(
        cls, store: Store, system: str, cycle: str, kind: str, settings: dict[str, Any]
    ) -> ResumeJournal:
        """Start an empty journal (replacing any earlier one for the same export)."""
        root = cls.folder(store, system, cycle, kind)
        if root.exists():
            shutil.rmtree(root)
        (root / "pages").mkdir(parents=True)
        journal = cls(root, {"version": _VERSION, **settings})
        journal.save()
        return journal

    @classmethod
    def find(cls, store: Store, system: str, cycle: str | None = None) -> ResumeJournal | None:
        """The newest journal of ``system`` (or the one of ``cycle``), None when there is none."""
        base = store.resume_system_dir(system)
        if not base.is_dir():
            return None
        candidates = sorted(
            (p for p in base.iterdir() if (p / "state.json").is_file()),
            key=lambda p: p.name,
        )
        if cycle is not None:
            candidates = [p for p in candidates if p.name.split(".", 1)[0] == cycle]
        if not candidates:
            return None
        root = candidates[-1]
        try:
            settings = json.loads((root / "state.json").read_text(encoding="utf-8"))
            if not isinstance(settings, dict) or settings.get("version") != _VERSION:
                raise ValueError("not a resume journal of this version")
            for key in ("cycle", "kind", "plan", "resources_asked"):
                settings[key]
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(
                f"{root / 'state.json'}: the resume journal is damaged ({exc}); "
                f"start a new extract (the journal is removed by a run without --resume)"
            ) from exc
        journal = cls(root, settings)
        journal._cut_torn_tail()
        return journal

    def _cut_torn_tail(self) -> None:
        """Drop a last index line a crash cut short, so pages appended now start on a line of their own."""
        if not self._index.is_file():
            return
        with self._index.open("rb+") as handle:
            data = handle.read()
            end = data.rfind(b"\n") + 1
            if end < len(data):
                handle.truncate(end)

    @classmethod
    def pending(cls, store: Store, system: str) -> list[str]:
        """Names (``cycle.kind``) of journals left by interrupted extracts of ``system``."""
        base = store.resume_system_dir(system)
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "state.json").is_file())

    def save(self) -> None:
        """Write ``state.json`` atomically."""
        atomic_write_json(self.root / "state.json", self.settings)

    def pages(self, resource: str) -> Iterator[tuple[PageRequest, bytes]]:
        """The recorded pages of ``resource`` in order, up to the first one not fully written."""
        if not self._index.is_file():
            return
        with self._index.open("rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    return  # torn last line
                try:
                    entry = json.loads(line)
                    path = self._pages_dir / str(entry["file"])
                    intact = path.is_file() and path.stat().st_size == entry["bytes"]
                    request = PageRequest.from_json(entry["request"])
                    seq = int(entry["seq"])
                except (ValueError, KeyError, TypeError, AttributeError):
                    return  # a damaged line: the pages before it are the usable prefix
                if not intact or path.parent != self._pages_dir:
                    return
                if entry.get("resource") == resource:
                    self._counts[resource] = max(self._counts.get(resource, 0), seq)
                    yield request, path.read_bytes()

    def record(self, resource: str, request: PageRequest, body: bytes) -> None:
        """Keep one page: its file first (by rename), then its index line.

        The writing happens on a worker thread, in order, a few pages behind at most: call
        :meth:`flush` (or :meth:`close`) before relying on the files.
        """
        seq = self._counts.get(resource, 0) + 1
        self._counts[resource] = seq
        if len(self._writing) >= _WRITES_AHEAD:
            self._writing.popleft().result()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-journal")
        self._writing.append(self._pool.submit(self._write, resource, seq, request, body))

    def _write(self, resource: str, seq: int, request: PageRequest, body: bytes) -> None:
        name = f"{resource}-{seq:07d}.json"
        tmp = self._pages_dir / f".{name}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(body)
        os.replace(tmp, self._pages_dir / name)
        line = {
            "resource": resource,
            "seq": seq,
            "file": name,
            "bytes": len(body),
            "request": request.to_json(),
        }
        with self._index.open("ab") as handle:
            handle.write(json.dumps(line, separators=(",", ":")).encode("utf-8") + b"\n")

    def flush(self) -> None:
        """Wait until every recorded page is on disk; raise the first write error."""
        while self._writing:
            self._writing.popleft().result()

    def close(self) -> None:
        """Wait for the pages recorded so far (errors are the caller's to find with :meth:`flush`)."""
        try:
            self.flush()
        except Exception:  # leaving after another error: the journal stays a valid prefix
            pass
        finally:
            self._writing.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def discard(self) -> None:
        """Remove the journal (the export it was for is published, or abandoned)."""
        self.close()
        shutil.rmtree(self.root, ignore_errors=True)
        parent = self.root.parent
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
