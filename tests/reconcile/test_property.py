"""Property: on small random directories the SQL engine agrees with the pure-Python oracle."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.config.toml import DEFAULT_COMPARE, parse_config
from recon.reconcile import reconcile
from recon.store import Store
from tests.reconcile import oracle
from tests.reconcile.builders import group, user, write_export

NAMES = ["ann", "Ann", "ANN", "bob", "Bob", "cy", "", None]
GIVEN = ["Ann", "ann", "Bo", "", None]
DEPARTMENTS = ["Sales", "sales", "Eng", "", None]
EMAILS = ["a@x.com", "A@X.com", "b@x.com", "c@y.org"]
GROUP_NAMES = ["admins", "Admins", "eng", "ops", "", None]
COMPARE = [*DEFAULT_COMPARE, 'emails[type eq "work"].value']

emails = st.lists(
    st.fixed_dictionaries(
        {"value": st.sampled_from(EMAILS), "type": st.sampled_from(["work", "Work", "home"])},
        optional={"primary": st.booleans()},
    ),
    max_size=3,
)


@st.composite
def users(draw: st.DrawFn, prefix: str, external_ids: list[str | None]) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 7))
    out = []
    for index in range(count):
        out.append(
            user(
                f"{prefix}{index}",
                draw(st.sampled_from(NAMES)),
                external_id=draw(st.sampled_from(external_ids)),
                active=draw(st.sampled_from([True, False, None])),
                given=draw(st.sampled_from(GIVEN)),
                emails=draw(emails),
                department=draw(st.sampled_from(DEPARTMENTS)),
            )
        )
    return out


@st.composite
def groups(
    draw: st.DrawFn, prefix: str, external_ids: list[str | None], members: list[str]
) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 4))
    ids = [f"{prefix}{i}" for i in range(count)]
    out = []
    for gid in ids:
        pool = [(m, "User") for m in members] + [(g, "Group") for g in ids if g != gid]
        chosen = draw(st.lists(st.sampled_from(pool), unique=True, max_size=5)) if pool else []
        typed = [(value, kind if draw(st.booleans()) else None) for value, kind in chosen]
        out.append(
            group(
                gid,
                draw(st.sampled_from(GROUP_NAMES)),
                typed,
                external_id=draw(st.sampled_from(external_ids)),
            )
        )
    return out


@st.composite
def directories(draw: st.DrawFn) -> dict[str, Any]:
    source_users = draw(users("s", [None]))
    source_ids: list[str | None] = [u["id"] for u in source_users]
    target_users = draw(users("t", [None, "", "zz", *source_ids, *source_ids]))
    source_groups = draw(groups("sg", [None], [u["id"] for u in source_users]))
    group_ids: list[str | None] = [g["id"] for g in source_groups]
    target_groups = draw(groups("tg", [None, "", *group_ids, *group_ids], [u["id"] for u in target_users]))
    named = sorted({g["displayName"] for g in source_groups if g.get("displayName")})
    privileged = draw(st.lists(st.sampled_from(named), max_size=2)) if named else []
    scope = draw(st.lists(st.sampled_from(named), max_size=1)) if named else []
    return {
        "source_users": source_users,
        "source_groups": source_groups,
        "target_users": target_users,
        "target_groups": target_groups,
        "privileged": privileged,
        "scope": scope,
    }


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(directories())
def test_engine_equals_oracle(d: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder))
        write_export(store, "idp", d["source_users"] + d["source_groups"])
        write_export(store, "app", d["target_users"] + d["target_groups"])
        pair: dict[str, Any] = {"compare": COMPARE, "privileged_groups": d["privileged"]}
        if d["scope"]:
            pair["scope_groups"] = d["scope"]
        config = parse_config({"reconcile": {"idp": {"app": pair}}})
        summary = reconcile(store, "idp", "app", config=config)
        found = pl.read_parquet(summary.findings_path)
    got = {
        (
            r["kind"],
            r["severity"],
            r["source_id"],
            r["target_id"],
            r["group_id"],
            r["target_group_id"],
            r["attribute"],
        )
        for r in found.iter_rows(named=True)
    }
    expected = oracle.findings(
        d["source_users"],
        d["source_groups"],
        d["target_users"],
        d["target_groups"],
        compare=COMPARE,
        privileged=d["privileged"],
        scope=d["scope"],
    )
    assert found.height == len(got), "duplicate finding rows"
    assert got == expected
