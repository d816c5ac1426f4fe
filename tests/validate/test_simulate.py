"""On a ``recon simulate`` run: the IdP export is clean, and schema faults applied to it are found exactly."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq

from recon.capabilities import load_capabilities, save_capabilities
from recon.extract.files import import_files
from recon.simulate import simulate
from recon.store import Store
from recon.validate import inject_schema_faults, validate_export
from recon.validate.schema_faults import FAULT_KINDS
from tests.validate.helpers import found


def test_schema_faults_on_a_simulated_idp(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    simulate(out, users=150, cycles=1, seed=7, targets=("slack",))
    store = Store(out)
    clean = validate_export(store, "idp")
    assert clean.total == 0
    assert clean.resources["User"] >= 150

    ref = store.latest_complete("idp")
    resources = [
        json.loads(raw)
        for table in ("users", "groups")
        for raw in pq.read_table(ref.table(table), columns=["raw"]).column("raw").to_pylist()
    ]
    faults = inject_schema_faults(resources, random.Random(3), 0.12)
    assert {f.fault for f in faults} == set(FAULT_KINDS)
    faulty = tmp_path / "faulty.json"
    faulty.write_text(json.dumps(resources), encoding="utf-8")
    import_files(store, [faulty], system="idpfaulty", cycle=ref.cycle)
    # the same server: its /Schemas (the IdP's own extension) as recon discover stored them
    served = load_capabilities(store, "idp")
    assert served is not None
    save_capabilities(store, replace(served, system="idpfaulty"))

    summary = validate_export(store, "idpfaulty", ref.cycle)
    assert found(summary.findings_path) == {(f.kind, f.resource_type, f.id, f.attribute) for f in faults}
