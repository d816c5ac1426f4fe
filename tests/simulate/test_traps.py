"""Every equivalence trap is injected, and each recorded example really is in the written data."""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl
import pytest

from tests.simulate.conftest import Sim

TRAPS = {
    "user_name_case",
    "email_case",
    "emails_reordered",
    "blank_for_absent",
    "external_id_blank",
    "external_id_absent",
    "timestamp_offset",
    "group_name_case",
    "idp_timestamp_offset",
    "idp_reserialised",
}
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OFFSET = re.compile(r"[+-]\d\d:\d\d$")


def _raw(sim: Sim, system: str, cycle: str, table: str, rid: str) -> dict[str, Any]:
    frame = sim.table(system, cycle, table).filter(pl.col("id") == rid)
    assert frame.height == 1, f"{system} {cycle} {table} has no record {rid}"
    return json.loads(frame["raw"][0])  # type: ignore[no-any-return]


def _emails(resource: dict[str, Any]) -> list[str]:
    return [e["value"] for e in resource.get("emails", [])]


@pytest.mark.parametrize("profile", ["clean", "typical", "hostile"])
def test_each_trap_is_in_the_data(sims: dict[str, Sim], profile: str) -> None:
    sim = sims[profile]
    traps = sim.meta["traps"]
    assert set(traps) == TRAPS
    for name, entry in traps.items():
        assert entry["count"] > 0 and entry["examples"], name
        for example in entry["examples"]:
            system, cycle, rid = example["system"], example["cycle"], example["id"]
            table = "groups" if name == "group_name_case" or rid.startswith("00g") else "users"
            mine = _raw(sim, system, cycle, table, rid)
            if name in ("timestamp_offset", "idp_timestamp_offset"):
                assert OFFSET.search(mine["meta"]["created"]), example
                continue
            if name == "idp_reserialised":  # another text of the same content, lastModified not bumped
                before = _raw(sim, "idp", example["previous"], "users", rid)
                assert json.dumps(mine) != json.dumps(before)
                assert mine["meta"]["lastModified"] == before["meta"]["lastModified"]
                assert _equivalent(before, mine), example
                continue
            if name == "group_name_case":
                source = (
                    _raw(sim, "idp", cycle, "groups", mine["externalId"]) if "externalId" in mine else None
                )
                assert (
                    mine["displayName"] != example["source"]
                    and mine["displayName"].lower() == example["source"]
                )
                assert source is None or source["displayName"] == example["source"]
                continue
            source = _raw(sim, "idp", cycle, "users", example["source_id"])
            if name == "user_name_case":
                assert mine["userName"] != source["userName"]
                assert mine["userName"].lower() == source["userName"].lower()
            elif name == "email_case":
                assert _emails(mine) != [e.lower() for e in _emails(mine)]
                assert {e.lower() for e in _emails(mine)} == {e.lower() for e in _emails(source)}
            elif name == "emails_reordered":
                theirs, ours = [e.lower() for e in _emails(mine)], [e.lower() for e in _emails(source)]
                assert theirs != ours and sorted(theirs) == sorted(ours)
            elif name == "blank_for_absent":
                if example["attribute"] == "title":
                    assert mine["title"] == "" and "title" not in source
                else:
                    assert mine[ENTERPRISE]["department"] == "" and "department" not in source[ENTERPRISE]
            elif name == "external_id_blank":
                assert mine["externalId"] == ""
            else:
                assert name == "external_id_absent" and "externalId" not in mine


def _equivalent(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The IdP's re-serialisations undone by hand: letter case of roles, phone type and badge,
    order of emails and roles, the address's country case, "" for an unassigned costCenter."""

    def norm(r: dict[str, Any]) -> dict[str, Any]:
        r = json.loads(json.dumps(r))
        r.pop("meta")
        r["emails"] = sorted(r["emails"], key=json.dumps)
        r["roles"] = sorted(x["value"].lower() for x in r.get("roles", []))
        r["phoneNumbers"] = [{**x, "type": x["type"].lower()} for x in r["phoneNumbers"]]
        r["addresses"] = [{**x, "country": x["country"].upper()} for x in r["addresses"]]
        if r[ENTERPRISE].get("costCenter") == "":
            del r[ENTERPRISE]["costCenter"]
        for urn in r["schemas"][2:]:
            r[urn]["badge"] = r[urn]["badge"].lower()
        return r

    return norm(a) == norm(b)


def test_the_idp_carries_no_trap_a_delta_would_see_as_a_change(sims: dict[str, Sim]) -> None:
    """IdP-side traps in the compared columns are timestamp formats only (its re-serialisations are
    of other attributes, checked above)."""
    sim = sims["clean"]
    for cycle in sim.cycles:
        users = sim.table("idp", cycle, "users")
        assert users.filter(pl.col("user_name") != pl.col("user_name").str.to_lowercase()).height == 0
        assert users.filter((pl.col("title") == "") | (pl.col("department") == "")).height == 0
