"""Where bulk runs and remediation plans live in the data folder (the store names the folders).

::

    <data>/bulk/system=<target>/run=<id>/   exchanges.ndjson, bulk_outcomes.parquet, summary.json, run.json
    <data>/plans/source=<a>/target=<b>/cycle=<c>/   plan.json, chunk-0001.json, …
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from recon.store import Store, cycle_id_now

__all__ = ["bulk_system_dir", "new_run_id", "plan_dir", "run_dir"]


def bulk_system_dir(store: Store, system: str) -> Path:
    """Folder holding every bulk run against ``system``."""
    return store.bulk_system_dir(system)


def run_dir(store: Store, system: str, run_id: str) -> Path:
    """Folder of one bulk run (an apply, or an analyze of files)."""
    return store.bulk_run_dir(system, run_id)


def new_run_id(store: Store, system: str, now: datetime | None = None) -> str:
    """A fresh run id: the UTC time (``YYYYMMDDTHHMMSSZ``), with ``-2``, ``-3``… if taken."""
    base = cycle_id_now(now or datetime.now(UTC))
    candidate, n = base, 1
    while run_dir(store, system, candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def plan_dir(store: Store, source: str, target: str, cycle: str) -> Path:
    """Default folder of the plan remediating ``target`` against ``source`` at ``cycle``."""
    return store.plan_dir(source, target, cycle)
