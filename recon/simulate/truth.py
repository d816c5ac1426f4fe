"""The oracle: the exact findings (CONTRACT §4) and delta findings (§5) of the simulated exports.

A second, independent implementation of the shared semantics in plain Python (dicts and sets),
fed with what the exports contain (:mod:`recon.simulate.views`), never with SQL:

- users are correlated by ordered match rules (``id = externalId``, then ``userName``
  case-insensitively): a rule sees only records no earlier rule matched or declared
  ambiguous; a value shared by one record on each side is a match, by more on either side an
  ``ambiguous_match`` for every candidate pair. ``""`` is no value. Groups likewise
  (``id = externalId``, then ``displayName``);
- compared attributes (CONTRACT §2 defaults without ``active``): unassigned = absent, null,
  ``""``; text compares case-insensitively;
- memberships are compared through both correlations; a membership of an unmatched or
  ambiguous user or group is no finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple, TypeVar

from recon.scim_columns import ENTERPRISE_USER, PRIMARY_EMAIL, by_path, flattened
from recon.simulate.views import DirectoryView, GroupRow, Indexed, UserRow

__all__ = [
    "COMPARED",
    "DeltaRow",
    "Finding",
    "Leaver",
    "delta_findings",
    "findings",
    "leavers",
]

R = TypeVar("R", UserRow, GroupRow)

# (attribute path as in the config, UserRow field = its column, recon/scim_columns.py)
_COLUMNS = {
    **by_path("User"),
    **{f.attribute.lower(): f.column for f in flattened("User") if f.schema == ENTERPRISE_USER},
    "emails[primary]": PRIMARY_EMAIL,
}
COMPARED: tuple[tuple[str, str], ...] = tuple(
    (path, _COLUMNS[path.lower()])
    for path in ("userName", "name.givenName", "name.familyName", "emails[primary]", "title", "department")
)


class Finding(NamedTuple):
    """One row of findings.parquet."""

    kind: str
    severity: str
    source_id: str | None = None
    target_id: str | None = None
    user_name: str | None = None
    group_id: str | None = None
    target_group_id: str | None = None
    group_name: str | None = None
    attribute: str | None = None
    source_value: str | None = None
    target_value: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Correlation:
    """Matched pairs (both ways) and the ambiguous candidate pairs."""

    matched: dict[str, str]  # source id -> target id
    reverse: dict[str, str]  # target id -> source id
    ambiguous: list[tuple[str, str]]
    decided_sources: set[str]
    decided_targets: set[str]


class Rule(NamedTuple):
    """A match rule: the source field equal to the target field (both fields of the row tuples;
    ``folded``: compared case-insensitively). ``""`` and None are no value."""

    source: int
    target: int
    folded: bool


def correlate(sources: Sequence[R], targets: Sequence[R], rules: Sequence[Rule]) -> Correlation:
    """Apply the match rules in order (see the module docstring)."""
    matched: dict[str, str] = {}
    ambiguous: list[tuple[str, str]] = []
    decided_s: set[str] = set()
    decided_t: set[str] = set()
    for rule in rules:
        if _by_value(sources, targets, rule, matched, ambiguous, decided_s, decided_t):
            continue
        # value -> the one record id having it, or the list of them when several do
        on_target = _keyed(targets, rule.target, rule.folded, decided_t, None)
        on_source = _keyed(sources, rule.source, rule.folded, decided_s, on_target)
        for value, sids in on_source.items():
            tids = on_target[value]
            if isinstance(sids, str) and isinstance(tids, str):
                matched[sids] = tids
                decided_s.add(sids)
                decided_t.add(tids)
                continue
            sid_list = [sids] if isinstance(sids, str) else sids
            tid_list = [tids] if isinstance(tids, str) else tids
            ambiguous.extend((sid, tid) for sid in sid_list for tid in tid_list)
            decided_s.update(sid_list)
            decided_t.update(tid_list)
    reverse = {t: s for s, t in matched.items()}
    return Correlation(matched, reverse, ambiguous, decided_s, decided_t)


def _by_value(
    sources: Sequence[R],
    targets: Sequence[R],
    rule: Rule,
    matched: dict[str, str],
    ambiguous: list[tuple[str, str]],
    decided_s: set[str],
    decided_t: set[str],
) -> bool:
    """Apply one rule when no value is held by two undecided source records (the common case),
    with what the general loop of :func:`correlate` adds, in its order; False (nothing done)
    when a source value is held twice. Values held by several targets (e.g. duplicated
    accounts) are found with one count in C, so only they are handled one by one."""
    source_pairs = _pairs(sources, rule.source, rule.folded, decided_s)
    on_source = dict(source_pairs)
    if len(on_source) != len(source_pairs):
        return False
    # the pairs are let go as soon as the dicts hold them: at 1M users a list of pairs is ~64 MiB,
    # and the simulation's peak memory is reached in findings
    del source_pairs
    target_pairs = _pairs(targets, rule.target, rule.folded, decided_t)
    on_target = dict(target_pairs)
    held: dict[str, list[str]] = {}
    if len(on_target) != len(target_pairs):
        twice = {value for value, count in Counter(map(itemgetter(0), target_pairs)).items() if count > 1}
        for value, tid in target_pairs:
            if value in twice:
                held.setdefault(value, []).append(tid)
    del target_pairs
    shared = [value for value in on_source if value in on_target]  # in the sources' order
    if held:
        for value in shared:
            tids = held.get(value)
            if tids is not None:
                sid = on_source[value]
                ambiguous.extend((sid, tid) for tid in tids)
                decided_s.add(sid)
                decided_t.update(tids)
        shared = [value for value in shared if value not in held]
    source_ids = list(map(on_source.__getitem__, shared))
    target_ids = list(map(on_target.__getitem__, shared))
    matched.update(zip(source_ids, target_ids, strict=True))
    decided_s.update(source_ids)
    decided_t.update(target_ids)
    return True


def _pairs(records: Sequence[R], field: int, folded: bool, decided: set[str]) -> list[tuple[str, str]]:
    """(value, id) of the undecided records with a value in ``field``, in their order."""
    if folded:
        return [(r[field].lower(), r[0]) for r in records if r[field] and r[0] not in decided]  # type: ignore[union-attr]
    if decided:
        return [(r[field], r[0]) for r in records if r[field] and r[0] not in decided]  # type: ignore[misc]
    return [(r[field], r[0]) for r in records if r[field]]  # type: ignore[misc]


def _keyed(
    records: Sequence[R],
    field: int,
    folded: bool,
    decided: set[str],
    within: dict[str, str | list[str]] | None,
) -> dict[str, str | list[str]]:
    """``value -> id`` (or ids, when several records have it) of the records not ``decided``
    that have a value in ``field`` (one ``within`` those keys, when given)."""
    into: dict[str, str | list[str]] = {}
    # one loop, no call per record: this runs for every user of every target and cycle
    for record in records:
        value: str | None = record[field]  # type: ignore[assignment]  # the rule's field holds text
        if not value:
            continue
        rid = record[0]
        if rid in decided:
            continue
        if folded:
            value = value.lower()
        if within is not None and value not in within:
            continue
        held = into.get(value)
        if held is None:
            into[value] = rid
        elif isinstance(held, str):
            into[value] = [held, rid]
        else:
            held.append(rid)
    return into


def _norm(value: str | None) -> str | None:
    return value.lower() if value else None


def _text(value: str | None) -> str | None:
    return value if value else None


_USER_RULES = (
    Rule(UserRow._fields.index("id"), UserRow._fields.index("external_id"), False),
    Rule(UserRow._fields.index("user_name"), UserRow._fields.index("user_name"), True),
)
_GROUP_RULES = (
    Rule(GroupRow._fields.index("id"), GroupRow._fields.index("external_id"), False),
    Rule(GroupRow._fields.index("display_name"), GroupRow._fields.index("display_name"), True),
)


def findings(source: DirectoryView, target: DirectoryView, privileged: Iterable[str]) -> list[Finding]:
    """Every finding of one (source, target, cycle), sorted."""
    users = correlate(source.users, target.users, _USER_RULES)
    groups = correlate(source.groups, target.groups, _GROUP_RULES)
    source_users = {u.id: u for u in source.users}
    source_groups = {g.id: g for g in source.groups}
    special = {name.lower() for name in privileged}
    rows = [
        *_user_findings(source, target, users, source_users),
        *_group_findings(source, target, groups, source_groups),
        *_memberships(
            source.user_groups,
            target.user_groups,
            users.matched,
            groups,
            source_groups,
            special,
            source_users,
        ),
        *_memberships(
            source.group_parents, target.group_parents, groups.matched, groups, source_groups, special, None
        ),
    ]
    return sorted(rows, key=_order)


def _user_findings(
    source: DirectoryView, target: DirectoryView, users: Correlation, source_users: Mapping[str, UserRow]
) -> Iterable[Finding]:
    for sid, tid in users.ambiguous:
        name = source_users[sid].user_name
        yield Finding(
            "ambiguous_match", "high", sid, tid, name, detail=f"user {name}: one of several candidate pairs"
        )
    for s in source.users:
        if s.id not in users.decided_sources and s.active is not False:
            yield Finding(
                "missing_in_target", "high", s.id, None, s.user_name, detail=f"{s.user_name} has no account"
            )
    for t in target.users:
        if t.id not in users.decided_targets:
            severity = "low" if t.active is False else "critical"
            detail = f"{t.user_name} matches no source user"
            yield Finding("orphaned_in_target", severity, None, t.id, t.user_name, detail=detail)
    target_users = {u.id: u for u in target.users}
    for sid, tid in users.matched.items():
        s, t = source_users[sid], target_users[tid]
        name = s.user_name
        if s.active is False and t.active is not False:
            yield Finding(
                "delayed_deactivation", "critical", sid, tid, name, detail=f"{name} left, still active"
            )
        elif s.active is not False and t.active is False:
            yield Finding(
                "delayed_activation", "medium", sid, tid, name, detail=f"{name} is inactive in the target"
            )
        if s[4:] == t[4:] and s.user_name == t.user_name:  # given, family, email, title, department
            continue  # nothing compared differs, even before normalisation
        for attribute, column in COMPARED:
            mine, theirs = getattr(s, column), getattr(t, column)
            if _norm(mine) != _norm(theirs):
                yield Finding(
                    "attribute_mismatch",
                    "medium",
                    sid,
                    tid,
                    name,
                    attribute=attribute,
                    source_value=_text(mine),
                    target_value=_text(theirs),
                    detail=f"{attribute} of {name} differs",
                )


def _group_findings(
    source: DirectoryView, target: DirectoryView, groups: Correlation, source_groups: Mapping[str, GroupRow]
) -> Iterable[Finding]:
    for gid, tgid in groups.ambiguous:
        name = source_groups[gid].display_name
        detail = f"group {name}: one of several candidate pairs"
        yield Finding(
            "ambiguous_match", "high", group_id=gid, target_group_id=tgid, group_name=name, detail=detail
        )
    for g in source.groups:
        if g.id not in groups.decided_sources:
            detail = f"group {g.display_name} has no target group"
            yield Finding(
                "group_missing_in_target", "medium", group_id=g.id, group_name=g.display_name, detail=detail
            )
    for tg in target.groups:
        if tg.id not in groups.decided_targets:
            name = tg.display_name
            detail = f"group {name} matches no source group"
            yield Finding(
                "group_orphaned_in_target", "medium", target_group_id=tg.id, group_name=name, detail=detail
            )


def _memberships(
    source_of: Mapping[str, list[str]],
    target_of: Mapping[str, list[str]],
    members: Mapping[str, str],
    groups: Correlation,
    source_groups: Mapping[str, GroupRow],
    privileged: set[str],
    source_users: Mapping[str, UserRow] | None,
) -> Iterable[Finding]:
    """Membership drift for matched members (users, or nested groups when ``source_users`` is None)."""
    matched, reverse = groups.matched, groups.reverse
    to_target = matched.__getitem__
    for sid, tid in members.items():
        mine, theirs = source_of.get(sid), target_of.get(tid)
        if not mine and not theirs:
            continue
        if mine and theirs and len(mine) == len(theirs):
            # the common case, without a dict per member: every source group matched, and
            # their target groups exactly the member's target groups (then nothing differs)
            try:
                if set(map(to_target, mine)) == set(theirs):
                    continue
            except KeyError:
                pass  # a source group without a match: compared below
        expected = {matched[g]: g for g in mine or () if g in matched}
        actual = {tg: reverse[tg] for tg in theirs or () if tg in reverse}
        if expected.keys() == actual.keys():
            continue
        user_name = source_users[sid].user_name if source_users is not None else None
        for tg in expected.keys() - actual.keys():
            g = expected[tg]
            name = source_groups[g].display_name
            yield Finding(
                "membership_missing",
                "medium",
                sid,
                tid,
                user_name,
                g,
                tg,
                name,
                detail=f"{user_name or sid} not in {name} in target",
            )
        for tg in actual.keys() - expected.keys():
            g = actual[tg]
            name = source_groups[g].display_name
            severity = "critical" if (name or "").lower() in privileged else "high"
            yield Finding(
                "membership_excess",
                severity,
                sid,
                tid,
                user_name,
                g,
                tg,
                name,
                detail=f"{user_name or sid} in {name} only in target",
            )


def _order(row: Finding | DeltaRow) -> tuple[str, ...]:
    return tuple("" if value is None else str(value) for value in row)


# -- deltas -----------------------------------------------------------------------------------
class DeltaRow(NamedTuple):
    """One row of delta_findings.parquet."""

    kind: str
    resource_type: str
    id: str
    name: str | None
    base_last_modified: datetime | None
    head_last_modified: datetime | None
    detail: str


def delta_findings(
    base: Mapping[str, Indexed],
    head: Mapping[str, Indexed],
    returned: Mapping[str, Indexed],
    watermark: datetime,
    resource_type: str,
) -> tuple[list[DeltaRow], int, int]:
    """Delta findings of one resource type.

    Also returns how many records changed or were created, and how many of those were returned.
    """
    rows: list[DeltaRow] = []

    def row(kind: str, rid: str, detail: str) -> None:
        b, h = base.get(rid), head.get(rid)
        name = h.name if h is not None and h.name is not None else (b.name if b is not None else None)
        base_time = b.last_modified if b is not None else None
        head_time = h.last_modified if h is not None else None
        rows.append(DeltaRow(kind, resource_type, rid, name, base_time, head_time, detail))

    moved = 0
    caught = 0
    for rid, h in head.items():
        b = base.get(rid)
        if b is not None and b.digest == h.digest:
            if rid in returned:
                row("unchanged_returned", rid, "returned by the delta but its content did not change")
            continue
        moved += 1
        created = b is None
        if rid in returned:
            caught += 1
        else:
            kind = "missed_creation" if created else "missed_change"
            row(
                kind,
                rid,
                ("created" if created else "changed") + " since the base but not in the delta export",
            )
        if h.last_modified is None or h.last_modified <= watermark:
            row(
                "stale_last_modified",
                rid,
                ("created" if created else "changed") + " but meta.lastModified is not after the watermark",
            )
    for rid in base.keys() - head.keys():
        row("unreported_deletion", rid, "deleted since the base (a filter cannot return deletions)")
    for rid, r in returned.items():
        if r.last_modified is None or r.last_modified <= watermark:
            row("outside_filter", rid, "returned although meta.lastModified is not after the watermark")
    return sorted(rows, key=_order), moved, caught


# -- leavers ----------------------------------------------------------------------------------
class Leaver(NamedTuple):
    """One row of leavers.parquet."""

    source_id: str
    user_name: str | None
    target: str
    left_cycle: str
    target_resolved_cycle: str | None
    deleted_cycle: str | None


def leavers(
    cycles: Sequence[str],
    left: Mapping[str, tuple[int, str | None]],
    deleted: Mapping[str, int],
    access: Mapping[str, Sequence[Mapping[str, set[str]]]],
    orphans: Mapping[str, Sequence[set[str]]],
) -> list[Leaver]:
    """Deprovisioning of each leaver in each target.

    ``left``: source id -> (index of the first cycle whose source export shows active=false,
    userName); ``deleted``: source id -> index of the first later cycle whose source export
    lacks it. ``access[target][i]``: source id -> target ids of its ``delayed_deactivation``
    findings at cycle i; ``orphans[target][i]``: target ids of active orphaned accounts at i.
    A leaver still has access at cycle i when it has a delayed_deactivation finding there, or,
    once deleted at the source, one of the accounts it ever had such a finding for is an active
    orphan there. Resolved = the first cycle from the leaving one on without access.
    """
    rows = []
    for target in sorted(access):
        per_cycle = access[target]
        for sid in sorted(left):
            first, user_name = left[sid]
            accounts = set().union(*(cycle.get(sid, set()) for cycle in per_cycle))
            gone = deleted.get(sid)
            resolved = None
            for i in range(first, len(cycles)):
                has = sid in per_cycle[i] or (
                    gone is not None and i >= gone and bool(accounts & orphans[target][i])
                )
                if not has:
                    resolved = cycles[i]
                    break
            rows.append(
                Leaver(
                    sid,
                    user_name,
                    target,
                    cycles[first],
                    resolved,
                    cycles[gone] if gone is not None else None,
                )
            )
    return rows
