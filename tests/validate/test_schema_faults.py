"""Schema faults for the simulator: what they change, and that validate finds exactly what they say."""

from __future__ import annotations

import copy
import random
from typing import Any

import pyarrow.parquet as pq
import pytest

from recon.store import Store
from recon.validate import inject_schema_faults, validate_export
from recon.validate.schema_faults import FAULT_KINDS
from tests.validate.helpers import ENT, USER, Exports, found, group, user


def directory(users: int) -> list[dict[str, Any]]:
    """A clean directory: users with and without emails / the Enterprise extension, and a group."""
    resources: list[dict[str, Any]] = []
    for i in range(users):
        extra: dict[str, Any] = {"name": {"givenName": f"G{i}", "familyName": f"F{i}"}}
        if i % 3:
            extra["emails"] = [{"value": f"u{i}@example.com", "type": "work", "primary": True}]
        if i % 4 == 0:
            extra["schemas"] = [USER, ENT]
            extra[ENT] = {"department": "Ops"}
        resources.append(user(f"u{i:03d}", userName=f"User{i}@Example.com", **extra))
    resources.append(group("g1", members=[{"value": "u000", "type": "User"}]))
    return resources


def test_injected_faults_are_found_exactly(store: Store, exports: Exports) -> None:
    resources = directory(120)
    faults = inject_schema_faults(resources, random.Random(11), 0.2)
    assert {f.fault for f in faults} == set(FAULT_KINDS)
    exports.add(resources)
    summary = validate_export(store, "app")
    assert found(summary.findings_path) == {(f.kind, f.resource_type, f.id, f.attribute) for f in faults}


def test_clean_directory_has_no_findings(store: Store, exports: Exports) -> None:
    exports.add(directory(40))
    assert validate_export(store, "app").total == 0


def test_same_seed_same_faults_and_flattened_columns_kept(store: Store, exports: Exports) -> None:
    first, second = directory(60), directory(60)
    assert inject_schema_faults(first, random.Random(3), 0.3) == inject_schema_faults(
        second, random.Random(3), 0.3
    )
    assert first == second
    clean = directory(60)
    exports.add(clean, system="clean")
    exports.add(first, system="faulty")
    columns = ["id", "user_name", "active", "primary_email", "department", "given_name"]

    def rows(system: str) -> dict[str, dict[str, Any]]:
        table = pq.read_table(store.export(system, "c1").table("users"), columns=columns)
        return {r["id"]: r for r in table.to_pylist()}

    clean_rows, faulty_rows = rows("clean"), rows("faulty")
    twins = set(faulty_rows) - set(clean_rows)
    assert twins and all(t.endswith("-case") for t in twins)
    assert {k: v for k, v in faulty_rows.items() if k not in twins} == clean_rows


def test_only_the_chosen_kinds_and_a_valid_rate() -> None:
    resources = directory(30)
    before = copy.deepcopy(resources)
    faults = inject_schema_faults(resources, random.Random(1), 1.0, kinds=("returned_password",))
    assert {f.kind for f in faults} == {"leaked_attribute"} and len(faults) == 30
    assert all(r.get("password") for r in resources if "userName" in r)
    assert inject_schema_faults(before, random.Random(1), 0.0) == []
    with pytest.raises(ValueError, match="unknown schema fault"):
        inject_schema_faults(before, random.Random(1), 0.5, kinds=("nonsense",))
    with pytest.raises(ValueError, match="between 0 and 1"):
        inject_schema_faults(before, random.Random(1), 2.0)
