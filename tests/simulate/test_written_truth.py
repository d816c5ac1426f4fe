"""The truth written equals the truth of the data written (read back from the Parquet exports).

Findings and deltas are recomputed from the exported ``raw`` JSON; the views read from ``raw``
must agree with the normalised columns; and delta content, recomputed from the normalised
columns alone (a second definition of "changed"), must give the same missed and unchanged sets.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
import pytest

from recon.simulate.truth import delta_findings, findings
from recon.simulate.views import ContentIndex, ViewBuilder, doc_of
from tests.simulate.conftest import Sim

CONTENT = [
    "external_id",
    "user_name",
    "active",
    "display_name",
    "given_name",
    "family_name",
    "primary_email",
    "employee_number",
    "department",
    "title",
    "manager_id",
    "user_type",
]


def _resources(sim: Sim, system: str, cycle: str, kind: str = "full") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for table in ("users", "groups"):
        out.extend(json.loads(raw) for raw in sim.table(system, cycle, table, kind)["raw"].to_list())
    return out


def _view(sim: Sim, system: str, cycle: str) -> ViewBuilder:
    builder = ViewBuilder()
    for resource in _resources(sim, system, cycle):
        builder.add(doc_of(resource))
    return builder


@pytest.mark.parametrize("profile", ["typical", "hostile"])
def test_findings_truth_is_the_truth_of_the_exported_data(sims: dict[str, Sim], profile: str) -> None:
    sim = sims[profile]
    privileged = sim.meta["privileged_groups"]
    for cycle in sim.cycles:
        source = _view(sim, "idp", cycle)
        for target in sim.targets:
            written = sim.findings(target, cycle)
            again = findings(source.view, _view(sim, target, cycle).view, privileged)
            assert [tuple(r) for r in again] == list(written.iter_rows()), f"{profile} {target} {cycle}"


@pytest.mark.parametrize("system", ["idp", "slack", "github"])
def test_views_read_from_raw_agree_with_the_normalised_columns(sims: dict[str, Sim], system: str) -> None:
    sim = sims["hostile"]
    cycle = sim.cycles[-1]
    columns = [
        "id",
        "external_id",
        "user_name",
        "active",
        "given_name",
        "family_name",
        "primary_email",
        "title",
        "department",
    ]
    table = sim.table(system, cycle, "users").select(columns).sort("id")
    rows = sorted(_view(sim, system, cycle).view.users)
    assert [tuple(r) for r in rows] == list(table.iter_rows())
    members = sim.table(system, cycle, "memberships")
    view = _view(sim, system, cycle).view
    from_view = {(g, m) for m, gs in view.user_groups.items() for g in gs}
    from_view |= {(g, m) for m, gs in view.group_parents.items() for g in gs}
    assert from_view == set(members.select("group_id", "member_id").iter_rows())


def _content(frame: pl.DataFrame) -> dict[str, tuple[Any, ...]]:
    """User content from the normalised columns (emails as a set), plus the attributes only the IdP
    holds read from ``raw`` with its re-serialisations undone by hand."""
    out = {}
    for row in frame.iter_rows(named=True):
        emails = frozenset((e["value"], e["type"], e["primary"]) for e in row["emails"] or [])
        raw = json.loads(row["raw"])
        enterprise = raw.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User") or {}
        custom = raw.get("urn:example:params:scim:schemas:extension:acme:2.0:User") or {}
        held = (
            frozenset((x["value"], x["type"].lower()) for x in raw.get("phoneNumbers", [])),
            frozenset((x["locality"], x["country"].upper()) for x in raw.get("addresses", [])),
            frozenset(x["value"].lower() for x in raw.get("roles", [])),
            enterprise.get("costCenter") or None,
            str(custom.get("badge")).lower(),
        )
        out[row["id"]] = (*(row[c] for c in CONTENT), emails, held)
    return out


@pytest.mark.parametrize("profile", ["typical", "hostile"])
def test_delta_truth_is_the_truth_of_the_exported_data(sims: dict[str, Sim], profile: str) -> None:
    sim = sims[profile]
    for base_cycle, head_cycle in zip(sim.cycles, sim.cycles[1:], strict=False):
        indexes = {}
        for name, cycle, kind in (
            ("base", base_cycle, "full"),
            ("head", head_cycle, "full"),
            ("sent", head_cycle, "delta"),
        ):
            index = ContentIndex()
            for resource in _resources(sim, "idp", cycle, kind):
                index.add(doc_of(resource))
            indexes[name] = index
        watermark = datetime.fromisoformat(sim.manifest("idp", head_cycle, "delta")["watermark"])
        rows = []
        for kind in ("users", "groups"):
            base, head, sent = (getattr(indexes[n], kind) for n in ("base", "head", "sent"))
            rows += delta_findings(base, head, sent, watermark, "User" if kind == "users" else "Group")[0]
        rows.sort(key=lambda r: tuple("" if v is None else str(v) for v in r))
        assert [tuple(r) for r in rows] == list(sim.deltas(head_cycle).iter_rows()), f"{profile} {head_cycle}"
        # a second definition of "changed", from the normalised columns
        before = _content(sim.table("idp", base_cycle, "users"))
        after = _content(sim.table("idp", head_cycle, "users"))
        sent_ids = set(sim.table("idp", head_cycle, "users", "delta")["id"].to_list())
        changed = {rid for rid in before.keys() & after.keys() if before[rid] != after[rid]}
        truth = sim.deltas(head_cycle).filter(pl.col("resource_type") == "User")
        missed = set(truth.filter(pl.col("kind") == "missed_change")["id"].to_list())
        unchanged = set(truth.filter(pl.col("kind") == "unchanged_returned")["id"].to_list())
        assert missed == changed - sent_ids
        assert unchanged == (sent_ids & before.keys() & after.keys()) - changed
