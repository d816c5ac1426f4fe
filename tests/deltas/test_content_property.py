"""Property: `recon deltas` reports a change exactly when the content changed (RFC 7643 rules).

Random users (core attributes, multi-valued ones, the enterprise extension and a custom
extension) and groups. Each resource gets one random edit: a *change* of one attribute path
(a new value, an assigned value removed, a new or edited element of a multi-valued attribute, a
JSON type change, a re-cased caseExact=true value) whose path the test knows, or an
*equivalence* (a caseExact=false value re-cased, a multi-valued attribute reordered, "" / null /
[] for an unassigned attribute, an attribute name or the extension URN in ``schemas``
re-cased, a new meta) that is no change. The expected answer comes from the edit, not from
recon: RFC 7643's caseExact facts used here are that externalId is caseExact and every other
attribute generated is not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.content import changed_paths, content_rules
from recon.deltas import deltas
from recon.extract.files import import_files
from recon.store import Store

U = "urn:ietf:params:scim:schemas:core:2.0:User"
G = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"
OLD = "2026-01-04T10:00:00Z"
NEW = "2026-01-05T03:00:00Z"
W = "2026-01-05T02:00:00Z"

word = st.text(alphabet="abcdefgHIJKLmn", min_size=1, max_size=8).filter(lambda s: s.lower() != s.upper())
MULTI = ("emails", "phoneNumbers", "addresses", "roles", "entitlements")
SUBS = {
    "emails": "value",
    "phoneNumbers": "value",
    "addresses": "locality",
    "roles": "value",
    "entitlements": "value",
}
SIMPLE = ("userName", "displayName", "title", "nickName", "locale")


@st.composite
def users(draw: st.DrawFn, uid: str) -> dict[str, Any]:
    user: dict[str, Any] = {"schemas": [U, ENT, ACME], "id": uid, "userName": f"{uid}-{draw(word)}"}
    for name in SIMPLE[1:]:
        if draw(st.booleans()):
            user[name] = draw(word)
    if draw(st.booleans()):
        user["externalId"] = draw(word)
    if draw(st.booleans()):
        user["active"] = draw(st.booleans())
    if draw(st.booleans()):
        user["name"] = {"givenName": draw(word), "familyName": draw(word)}
    for name in MULTI:
        values = draw(st.lists(word, min_size=0, max_size=3, unique_by=str.lower))
        if values:
            sub = SUBS[name]
            user[name] = [{sub: v, "type": "work"} for v in values]
    user[ENT] = {"costCenter": draw(word), "manager": {"value": draw(word)}}
    user[ACME] = {"badge": draw(word), "level": draw(st.integers(0, 9))}
    user["meta"] = {"resourceType": "User", "lastModified": OLD}
    return user


# -- edits: each returns the expected changed path (None: an equivalence) ----------------------
def _fresh(draw: st.DrawFn) -> str:
    return "new-" + draw(word)  # never equal, in any case, to a generated value (they have no '-')


def edit_user(draw: st.DrawFn, user: dict[str, Any]) -> str | None:
    kind = draw(
        st.sampled_from(
            [
                "set_simple",
                "drop",
                "multi_sub",
                "multi_add",
                "ext_set",
                "ext_sub",
                "acme_set",
                "type_change",
                "recase_exact",
                "recase",
                "reorder",
                "blank",
                "rename_key",
                "recase_urn",
                "meta",
            ]
        )
    )
    if kind == "set_simple":
        name = draw(st.sampled_from(SIMPLE))
        user[name] = _fresh(draw)
        return name
    if kind == "drop":
        candidates = sorted(k for k in user if k not in ("schemas", "id", "meta", ENT, ACME))
        name = draw(st.sampled_from(candidates))
        value = user.pop(name)
        return ", ".join(f"name.{k}" for k in sorted(value)) if name == "name" else name
    if kind in ("multi_sub", "multi_add"):
        name = draw(st.sampled_from(MULTI))
        sub = SUBS[name]
        elements = user.setdefault(name, [])
        if kind == "multi_sub" and elements:
            index = draw(st.integers(0, len(elements) - 1))
            elements[index] = {**elements[index], draw(st.sampled_from([sub, "type"])): _fresh(draw)}
        else:
            elements.append({sub: _fresh(draw), "type": "work"})
        return name
    if kind == "ext_set":
        user[ENT]["costCenter"] = _fresh(draw)
        return f"{ENT}:costCenter"
    if kind == "ext_sub":
        user[ENT]["manager"] = {"value": _fresh(draw)}
        return f"{ENT}:manager.value"
    if kind == "acme_set":
        user[ACME]["level"] = str(user[ACME]["level"])  # a JSON type change
        return f"{ACME}:level"
    if kind == "type_change":
        user["active"] = "true" if user.get("active") is True else True
        return "active"
    if kind == "recase_exact":
        user["externalId"] = user.get("externalId", "abc").swapcase() if "externalId" in user else "x"
        return "externalId"
    if kind == "recase":
        target = draw(st.sampled_from(["userName", "badge", *MULTI]))
        if target == "userName":
            user["userName"] = user["userName"].swapcase()
        elif target == "badge":
            user[ACME]["badge"] = user[ACME]["badge"].swapcase()
        elif target in user:
            sub = SUBS[target]
            user[target] = [{**e, sub: e[sub].swapcase(), "type": "WORK"} for e in user[target]]
        return None
    if kind == "reorder":
        for name in MULTI:
            if name in user:
                user[name] = list(reversed(user[name])) + user[name][:1]  # reversed, one repeated
        return None
    if kind == "blank":
        absent = [n for n in (*SIMPLE, *MULTI) if n not in user]
        if absent:
            name = draw(st.sampled_from(absent))
            user[name] = draw(st.sampled_from(["", None] if name in SIMPLE else [[], None, [{}]]))
        return None
    if kind == "rename_key":
        user["USERNAME"] = user.pop("userName")
        return None
    if kind == "recase_urn":
        user["schemas"] = [U, ACME.upper(), ENT.upper()]
        return None
    user["meta"] = {"resourceType": "User", "lastModified": NEW, "version": 'W/"2"'}
    return None


@st.composite
def cases(draw: st.DrawFn) -> list[tuple[dict[str, Any], dict[str, Any], str | None]]:
    out = []
    for n in range(draw(st.integers(1, 6))):
        base = draw(users(f"u{n}"))
        head = json.loads(json.dumps(base))
        out.append((base, head, edit_user(draw, head)))
    return out


RFC = content_rules()


@settings(max_examples=300, deadline=None)
@given(cases())
def test_changed_paths_exactly_when_content_changed(
    generated: list[tuple[dict[str, Any], dict[str, Any], str | None]],
) -> None:
    for base, head, expected in generated:
        found = changed_paths(json.dumps(base), json.dumps(head), "User", RFC)
        assert found == ([] if expected is None else expected.split(", ")), (base, head)


@st.composite
def groups_edit(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    members = draw(st.lists(st.sampled_from([f"u{i}" for i in range(6)]), unique=True, max_size=4))
    base = {
        "schemas": [G],
        "id": "g0",
        "displayName": draw(word),
        "members": [{"value": m, "type": "User"} for m in members],
    }
    if draw(st.booleans()):
        base["externalId"] = draw(word)
    base["meta"] = {"resourceType": "Group", "lastModified": OLD}
    head = json.loads(json.dumps(base))
    kind = draw(st.sampled_from(["rename", "recase", "add", "remove", "reorder", "display"]))
    expected: str | None = None
    if kind == "rename":
        head["displayName"], expected = _fresh(draw), "displayName"
    elif kind == "recase":
        head["displayName"] = head["displayName"].swapcase()
    elif kind == "add":
        head["members"].append({"value": "u-new", "type": "User"})
        expected = "members"
    elif kind == "remove" and head["members"]:
        head["members"].pop()
        expected = "members"
    elif kind == "reorder":
        head["members"].reverse()
    else:
        head["members"] = [{**m, "display": "Someone"} for m in head["members"]]  # not a member's value
    return base, head, expected


def _import(
    store: Store, tmp: Path, name: str, resources: list[dict[str, Any]], cycle: str, **kw: Any
) -> None:
    path = tmp / f"{name}.json"
    page = {  # a ListResponse: an empty export says "totalResults": 0 (a bare [] is refused)
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(resources),
        "Resources": resources,
    }
    path.write_text(json.dumps(page))
    import_files(store, [path], system="idp", cycle=cycle, **kw)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases(), groups_edit(), st.sets(st.integers(0, 5)))
def test_recon_deltas_reports_a_change_exactly_when_content_changed(
    tmp_path_factory: Any,
    generated: list[tuple[dict[str, Any], dict[str, Any], str | None]],
    group: tuple[dict[str, Any], dict[str, Any], str | None],
    returned_numbers: set[int],
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    store = Store(tmp / "data")
    bases = [b for b, _, _ in generated] + [group[0]]
    heads = [h for _, h, _ in generated] + [group[1]]
    returned = {f"u{n}" for n in returned_numbers}
    for head in heads:
        if head["id"] in returned:
            head["meta"]["lastModified"] = NEW
    _import(store, tmp, "base", bases, "c1")
    _import(store, tmp, "head", heads, "c2")
    _import(store, tmp, "delta", [h for h in heads if h["id"] in returned], "c2", kind="delta", since=W)
    summary = deltas(store, "idp")
    frame = pl.read_parquet(summary.findings_path)
    found = {(r["kind"], r["id"]): r["detail"] for r in frame.iter_rows(named=True)}
    expected_kinds: set[tuple[str, str]] = set()
    expected_paths: dict[str, str] = {}
    for base, _, path in [*generated, group]:
        rid = base["id"]
        if path is None:
            if rid in returned:
                expected_kinds.add(("unchanged_returned", rid))
        elif rid not in returned:
            expected_kinds |= {("missed_change", rid), ("stale_last_modified", rid)}
            expected_paths[rid] = path
    assert set(found) == expected_kinds
    for rid, path in expected_paths.items():
        assert found[("missed_change", rid)].endswith(": " + path)
    assert summary.by_type["User"]["changed"] + summary.by_type["Group"]["changed"] == sum(
        1 for _, _, p in [*generated, group] if p is not None
    )
