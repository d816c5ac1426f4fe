"""A straightforward pure-Python reading of SEMANTICS.md (findings of one reconcile).

Written independently of the SQL: it works on the SCIM resource dicts, not on the tables,
and does everything by loops and sets. Used as the oracle of the property test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
Row = tuple[str, str, str | None, str | None, str | None, str | None, str | None]


def _unassigned(value: Any) -> bool:
    return value is None or value == "" or value == []


def _primary_email(user: dict[str, Any]) -> str | None:
    emails = user.get("emails") or []
    for email in emails:
        if email.get("primary"):
            return email.get("value")  # type: ignore[no-any-return]
    for email in emails:
        if (email.get("type") or "").lower() == "work":
            return email.get("value")  # type: ignore[no-any-return]
    return emails[0].get("value") if emails else None


def attribute_value(user: dict[str, Any], path: str) -> frozenset[str]:
    """The normalised value of one compare path, as a set (empty = unassigned)."""
    if path == "userName":
        raw: list[Any] = [user.get("userName")]
    elif path == "name.givenName":
        raw = [(user.get("name") or {}).get("givenName")]
    elif path == "name.familyName":
        raw = [(user.get("name") or {}).get("familyName")]
    elif path == "emails[primary]":
        raw = [_primary_email(user)]
    elif path == 'emails[type eq "work"].value':
        raw = [e.get("value") for e in user.get("emails") or [] if (e.get("type") or "").lower() == "work"]
    elif path == "title":
        raw = [user.get("title")]
    elif path == "department":
        raw = [(user.get(ENTERPRISE) or {}).get("department")]
    else:
        raise ValueError(path)
    return frozenset(v.lower() for v in raw if not _unassigned(v))


def correlate(
    sources: Sequence[dict[str, Any]],
    targets: Sequence[dict[str, Any]],
    rules: Sequence[tuple[Callable[[dict[str, Any]], str | None], Callable[[dict[str, Any]], str | None]]],
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Ordered match rules: returns (source id -> target id matches, ambiguous pairs)."""
    matched: dict[str, str] = {}
    ambiguous: list[tuple[str, str]] = []
    decided_s: set[str] = set()
    decided_t: set[str] = set()
    for source_value, target_value in rules:
        candidates = []
        for s in sources:
            if s["id"] in decided_s or _unassigned(source_value(s)):
                continue
            for t in targets:
                if t["id"] in decided_t or _unassigned(target_value(t)):
                    continue
                if source_value(s) == target_value(t):
                    candidates.append((s["id"], t["id"]))
        per_source = Counter(s for s, _ in candidates)
        per_target = Counter(t for _, t in candidates)
        for s, t in candidates:
            if per_source[s] > 1 or per_target[t] > 1:
                ambiguous.append((s, t))
            else:
                matched[s] = t
            decided_s.add(s)
            decided_t.add(t)
    return matched, ambiguous


def _exact(key: str) -> Callable[[dict[str, Any]], str | None]:
    return lambda r: r.get(key)


def _folded(key: str) -> Callable[[dict[str, Any]], str | None]:
    return lambda r: r[key].lower() if isinstance(r.get(key), str) else None


def _typed_memberships(
    groups: Sequence[dict[str, Any]], users: Sequence[dict[str, Any]]
) -> set[tuple[str, str, str]]:
    user_ids = {u["id"] for u in users}
    group_ids = {g["id"] for g in groups}
    out = set()
    for g in groups:
        for m in g.get("members") or []:
            kind = m.get("type")
            if kind not in ("User", "Group"):
                kind = "User" if m["value"] in user_ids else "Group" if m["value"] in group_ids else None
            if kind:
                out.add((g["id"], m["value"], kind))
    return out


def findings(
    source_users: Sequence[dict[str, Any]],
    source_groups: Sequence[dict[str, Any]],
    target_users: Sequence[dict[str, Any]],
    target_groups: Sequence[dict[str, Any]],
    *,
    compare: Sequence[str],
    privileged: Sequence[str] = (),
    scope: Sequence[str] = (),
) -> set[Row]:
    """(kind, severity, source_id, target_id, group_id, target_group_id, attribute) of every finding."""
    rows: set[Row] = set()
    users, ambiguous_users = correlate(
        source_users,
        target_users,
        [(_exact("id"), _exact("externalId")), (_folded("userName"), _folded("userName"))],
    )
    groups, ambiguous_groups = correlate(
        source_groups,
        target_groups,
        [(_exact("id"), _exact("externalId")), (_folded("displayName"), _folded("displayName"))],
    )
    decided_s = set(users) | {s for s, _ in ambiguous_users}
    decided_t = set(users.values()) | {t for _, t in ambiguous_users}
    source_memberships = _typed_memberships(source_groups, source_users)
    if scope:
        wanted = {name.lower() for name in scope}
        reached = {g["id"] for g in source_groups if (g.get("displayName") or "").lower() in wanted}
        frontier = set(reached)
        while frontier:
            frontier = {m for g, m, k in source_memberships if g in frontier and k == "Group"} - reached
            reached |= frontier
        in_scope = {m for g, m, k in source_memberships if g in reached and k == "User"}
    else:
        in_scope = {u["id"] for u in source_users}
    for s, t in ambiguous_users:
        rows.add(("ambiguous_match", "high", s, t, None, None, None))
    by_target = {t["id"]: t for t in target_users}
    for u in source_users:
        if u["id"] not in decided_s and u.get("active") is not False and u["id"] in in_scope:
            rows.add(("missing_in_target", "high", u["id"], None, None, None, None))
    for t in target_users:
        if t["id"] not in decided_t:
            severity = "critical" if t.get("active") is not False else "low"
            rows.add(("orphaned_in_target", severity, None, t["id"], None, None, None))
    for u in source_users:
        if u["id"] not in users:
            continue
        t = by_target[users[u["id"]]]
        if u.get("active") is False and t.get("active") is not False:
            rows.add(("delayed_deactivation", "critical", u["id"], t["id"], None, None, None))
        if u.get("active") is not False and t.get("active") is False:
            rows.add(("delayed_activation", "medium", u["id"], t["id"], None, None, None))
        for path in compare:
            if path != "active" and attribute_value(u, path) != attribute_value(t, path):
                rows.add(("attribute_mismatch", "medium", u["id"], t["id"], None, None, path))
    for s, t in ambiguous_groups:
        rows.add(("ambiguous_match", "high", None, None, s, t, None))
    decided_gs = set(groups) | {s for s, _ in ambiguous_groups}
    decided_gt = set(groups.values()) | {t for _, t in ambiguous_groups}
    for g in source_groups:
        if g["id"] not in decided_gs:
            rows.add(("group_missing_in_target", "medium", None, None, g["id"], None, None))
    for g in target_groups:
        if g["id"] not in decided_gt:
            rows.add(("group_orphaned_in_target", "medium", None, None, None, g["id"], None))
    member_maps = {"User": users, "Group": groups}
    inverse = {kind: {t: s for s, t in mapping.items()} for kind, mapping in member_maps.items()}
    group_inverse = inverse["Group"]
    expected = {(g, m, kind) for g, m, kind in source_memberships if g in groups and m in member_maps[kind]}
    actual = {
        (group_inverse[tg], inverse[kind][tm], kind)
        for tg, tm, kind in _typed_memberships(target_groups, target_users)
        if tg in group_inverse and tm in inverse[kind]
    }
    privileged_names = {p.lower() for p in privileged}
    names = {g["id"]: (g.get("displayName") or "").lower() for g in source_groups}
    for g, m, kind in expected - actual:
        rows.add(("membership_missing", "medium", m, member_maps[kind][m], g, groups[g], None))
    for g, m, kind in actual - expected:
        severity = "critical" if names[g] in privileged_names else "high"
        rows.add(("membership_excess", severity, m, member_maps[kind][m], g, groups[g], None))
    return rows
