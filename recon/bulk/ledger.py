"""What earlier runs of the same plan already did, so a replay never applies anything twice.

Every apply run records ``run.json`` (with the plan's ``plan_id``) and ``exchanges.ndjson``.
Reading the runs of the same plan gives, per bulkId:

- ``done``: reported ok (or found already present) -> not sent again;
- ``created``: the id a POST created -> later references use it;
- ``uncertain``: a POST whose outcome is unknown (no usable answer) or that failed in a way
  that may mean it exists (409 uniqueness, 5xx) -> looked up before it is sent again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from recon.bulk.exchanges import read_log, records_of
from recon.bulk.model import OperationResult
from recon.bulk.paths import bulk_system_dir
from recon.store import Store

__all__ = ["Ledger", "read_ledger"]


@dataclass
class Ledger:
    """The state of a plan's operations after its earlier runs."""

    done: dict[str, tuple[OperationResult, str]] = field(default_factory=dict)  # bulkId -> (result, run)
    created: dict[str, str] = field(default_factory=dict)
    uncertain: set[str] = field(default_factory=set)
    runs: list[str] = field(default_factory=list)


def _runs_of(store: Store, system: str, plan_id: str) -> list[tuple[str, Path]]:
    folder = bulk_system_dir(store, system)
    found = []
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        meta = child / "run.json"
        if not child.name.startswith("run=") or not meta.is_file():
            continue
        try:
            run = json.loads(meta.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        if run.get("plan_id") == plan_id and (child / "exchanges.ndjson").is_file():
            found.append((child.name.removeprefix("run="), child / "exchanges.ndjson"))
    return found


def read_ledger(store: Store, system: str, plan_id: str) -> Ledger:
    """The ledger of ``plan_id`` from every earlier apply run against ``system``."""
    ledger = Ledger()
    for run_id, log in _runs_of(store, system, plan_id):
        ledger.runs.append(run_id)
        for record in records_of(read_log(log)):
            bulk_id = record.operation.bulk_id
            if bulk_id is None or bulk_id in ledger.done:
                continue
            if record.reported == "ok" and record.result is not None:
                ledger.done[bulk_id] = (record.result, run_id)
                ledger.uncertain.discard(bulk_id)
                if record.operation.method == "POST" and record.resource_id:
                    ledger.created[bulk_id] = record.resource_id
            elif record.operation.method == "POST" and (
                record.reported == "unconfirmed"
                or (
                    record.result is not None and (record.result.status == 409 or record.result.status >= 500)
                )
            ):
                ledger.uncertain.add(bulk_id)
    return ledger
