"""Membership comparison designs of ``recon reconcile``, measured in one session prepared like it.

    .venv/bin/python benchmarks/reconcile_bench.py --generate-only --work /tmp/data   # 1M inputs
    .venv/bin/python benchmarks/membership_designs.py /tmp/data/users-1000000 --rounds 5

``reconcile()`` runs as always up to its membership comparison; there, instead of it, each design
below runs in turn (interleaved, the order rotated round by round) on the same session, with the
accounts, correlations and settings reconcile() made, and its CPU seconds per part are taken with
``time.process_time()`` (the whole process: DuckDB's threads included). Every design's rows are
compared with today's (``EXCEPT ALL`` both ways: 0 rows either way, or the design is reported not
equal). Then today's rows are returned and reconcile() finishes. The figures and what they show
are in benchmarks/results/reconcile.md (rec26).

- ``today``: main's comparison (recon/reconcile/run.py): each side's per-member prints at once, the
  users whose prints differ, a second read of both files for those users' rows.
- ``a_*`` (one pass, every row compared): each side's rows of matched groups translated through
  the correlations into (group number, member number), compared by one ``FULL JOIN``.
- ``c_intprints`` (one read): the translated rows kept, printed per member number, the differing
  members' rows taken from the kept rows.
- ``b_*`` (one read): each side's rows of matched groups kept in memory by the first statement;
  prints and the differing users' rows read from the copy. ``b_keys`` keeps no id text (a member is
  recognised by its 64-bit key only): not exact by the id text, a reference for the family.

The SQL here is a benchmark's, not recon's (recon's is in sql/). Private session methods are used
for statements at once on one thread each, as ``Session.run_kept_at_once`` runs sql/ files.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import recon.reconcile.run as run  # noqa: E402
from recon.config import load_config  # noqa: E402
from recon.engine import load_sql  # noqa: E402
from recon.store import Store  # noqa: E402

_FINDINGS = load_sql("reconcile_membership_findings").query
NAMED = _FINDINGS[_FINDINGS.index("named AS (") :]  # main's naming and final select, verbatim

# matched user pairs and groups numbered (each kept once, so every reference sees the same numbers)
PAIRS = """
SELECT source_id, target_id, CAST(row_number() OVER () AS INTEGER) AS u,
    fp64(source_id) AS source_k, fp64(target_id) AS target_k
FROM user_correlation WHERE NOT ambiguous
"""
# s_user / t_user: the group's id is also a user's of that side (an untyped member with that id is
# then a user, never a nested group: main's rule)
GROUPS = """
WITH m AS (
    SELECT source_id, target_id, CAST(row_number() OVER () AS INTEGER) AS g
    FROM group_correlation WHERE NOT ambiguous
)
SELECT m.source_id, m.target_id, m.g,
    m.source_id IN (SELECT id FROM source_users) AS s_user,
    m.target_id IN (SELECT id FROM target_users) AS t_user
FROM m
"""
# one side's rows of matched groups as (g, m): m > 0 a matched user (pairs.u), m < 0 a matched
# group as a nested member (-groups.g); every other row dropped, as main's comparison ignores it
TRANSLATE = """
SELECT g.g, coalesce(u.u, -n.g) AS m
FROM {side}_memberships AS r
JOIN groups AS g ON g.{side}_id = r.group_id
LEFT JOIN pairs AS u ON {user_on} AND (r.member_type = 'User' OR r.member_type IS NULL)
LEFT JOIN groups AS n ON n.{side}_id = r.member_id
    AND (r.member_type = 'Group' OR (r.member_type IS NULL AND NOT n.{flag}))
WHERE u.u IS NOT NULL OR n.g IS NOT NULL
"""
TEXT_ON = "u.{side}_id = r.member_id"
KEY_AND_TEXT_ON = "u.{side}_k = fp64(r.member_id) AND u.{side}_id = r.member_id"
# the same with one probe per row: users and groups as members in one table per side
MEMBERS = """
members_{side} AS (
    SELECT coalesce(p.{side}_id, g.{side}_id) AS id, p.u, g.g AS ng, g.{flag} AS is_user
    FROM pairs AS p FULL JOIN groups AS g ON g.{side}_id = p.{side}_id
),
"""
TRANSLATE_ONE_PROBE = """
SELECT * FROM (
    SELECT gg.g, CASE
            WHEN mm.u IS NOT NULL AND (r.member_type = 'User' OR r.member_type IS NULL) THEN mm.u
            WHEN mm.ng IS NOT NULL AND (r.member_type = 'Group' OR (r.member_type IS NULL AND NOT mm.is_user))
                THEN -mm.ng
        END AS m
    FROM {side}_memberships AS r
    JOIN groups AS gg ON gg.{side}_id = r.group_id
    JOIN members_{side} AS mm ON mm.id = r.member_id
) WHERE m IS NOT NULL
"""
# the drift of two translated row sets src, tgt: a row without an equal row on the other side
DIFF = """
diff AS (
    SELECT coalesce(s.g, t.g) AS g, coalesce(s.m, t.m) AS m, s.g IS NULL AS excess
    FROM src AS s FULL JOIN tgt AS t ON s.g = t.g AND s.m = t.m
    WHERE s.g IS NULL OR t.g IS NULL
),
drift AS (
    SELECT CASE WHEN d.excess THEN 'membership_excess' ELSE 'membership_missing' END AS kind,
        CASE WHEN d.m > 0 THEN 'User' ELSE 'Group' END AS member_type,
        g.source_id AS group_id, coalesce(u.source_id, n.source_id) AS member_id,
        g.target_id AS target_group_id, coalesce(u.target_id, n.target_id) AS target_member_id
    FROM diff AS d
    JOIN groups AS g ON g.g = d.g
    LEFT JOIN pairs AS u ON d.m > 0 AND u.u = d.m
    LEFT JOIN groups AS n ON d.m < 0 AND n.g = -d.m
),
"""
INT_PRINTS = """
SELECT r.m, count(*) AS n, sum(CAST(w.w1 AS HUGEINT)) AS s1, sum(CAST(w.w2 AS HUGEINT)) AS s2
FROM rows AS r JOIN weights AS w ON w.position = r.g
WHERE r.m > 0
GROUP BY r.m
"""
INT_DIFFERING = """
SELECT coalesce(s.m, t.m) AS m FROM sp AS s FULL JOIN tp AS t ON s.m = t.m
WHERE s.n IS DISTINCT FROM t.n OR s.s1 IS DISTINCT FROM t.s1 OR s.s2 IS DISTINCT FROM t.s2
"""
INT_EXPANDED = """
src AS (SELECT g, m FROM source_rows WHERE m < 0 OR m IN (SELECT m FROM differing)),
tgt AS (SELECT g, m FROM target_rows WHERE m < 0 OR m IN (SELECT m FROM differing)),
"""
# B: the weights numbered, each side's rows of matched groups kept by one statement
WEIGHTS_NUMBERED = (
    "SELECT source_id, target_id, w1, w2, CAST(row_number() OVER () AS INTEGER) AS g FROM group_weights"
)
ROWS = {
    "b_rows": "SELECT m.group_id AS gid, m.member_id, m.member_type, fp64(m.member_id) AS k, w.g",
    "b_compact": "SELECT fp64(m.member_id) AS k, w.g, m.member_id, m.member_type",
    "b_keys": """SELECT fp64(m.member_id) AS k, w.g,
        CASE WHEN m.member_type IS DISTINCT FROM 'User' THEN m.member_id END AS member_id, m.member_type""",
}
ROWS_FROM = " FROM memberships AS m JOIN wg AS w ON w.{side}_id = m.group_id"
ROWS_PRINTS = """
SELECT r.k AS member_key, count(*) AS n, sum(CAST(w.w1 AS HUGEINT)) AS s1, sum(CAST(w.w2 AS HUGEINT)) AS s2
FROM rows AS r JOIN wg AS w ON w.g = r.g
WHERE r.member_type = 'User' OR r.member_type IS NULL
GROUP BY r.k
"""
# the kept rows as main's findings statement reads a memberships file
ROWS_AS_FILE = {
    "b_rows": "SELECT gid AS group_id, member_id, member_type FROM rows",
    "b_compact": """
SELECT w.{side}_id AS group_id, r.member_id, r.member_type FROM rows AS r JOIN wg AS w ON w.g = r.g
""",
    "b_keys": """
SELECT w.{side}_id AS group_id, coalesce(r.member_id, d.{side}_id) AS member_id, r.member_type
FROM rows AS r JOIN wg AS w ON w.g = r.g
LEFT JOIN (SELECT {side}_id, fp64({side}_id) AS k FROM differing) AS d ON d.k = r.k AND r.member_id IS NULL
WHERE r.member_id IS NOT NULL OR d.k IS NOT NULL
""",
}
SIDES = ("source", "target")
CTE = {"source": "src", "target": "tgt"}  # each side's translated rows, as DIFF reads them
NOTED = ("source_users", "source_groups", "privileged_groups")
Parts = dict[str, float]


def translate(side: str, on: str = TEXT_ON) -> str:
    flag = "s_user" if side == "source" else "t_user"
    return TRANSLATE.format(side=side, flag=flag, user_on=on.format(side=side))


def at_once(session: Any, items: list[tuple[str, Mapping[str, Any]]]) -> list[Any]:
    """The statements at the same time, one DuckDB thread each, kept (as run_kept_at_once)."""

    def kept(lane: Any, sql: str, given: Mapping[str, Any]) -> Any:
        return lane.keep(lane.query(sql, None, lane._adopt_inputs(session, given)))

    with session._lanes(len(items)) as lanes, ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [
            pool.submit(kept, lane, sql, given) for lane, (sql, given) in zip(lanes, items, strict=True)
        ]
        tables = [f.result() for f in futures]
    return [session._adopt(t) for t in tables]


def kept(session: Any, sql: str, given: Mapping[str, Any]) -> Any:
    return session.keep(session.query(sql, None, given))


class Clock:
    """CPU seconds of the process per named part."""

    def __init__(self, parts: Parts) -> None:
        self.parts, self.started = parts, time.process_time()

    def lap(self, name: str) -> None:
        now = time.process_time()
        self.parts[name] = self.parts.get(name, 0.0) + now - self.started
        self.started = now


def weights_kept(session: Any, inputs: Mapping[str, Any], matched: int) -> Any:
    drawn = session.bind(run.random_weights(matched))
    given = {"group_correlation": inputs["group_correlation"], "random_weights": drawn}
    return session.run("reconcile_group_weights", None, given, keep=True)


def today(session: Any, inputs: Mapping[str, Any], matched: int, parts: Parts) -> Any:
    clock = Clock(parts)
    weights = weights_kept(session, inputs, matched)
    calls = [
        (
            "reconcile_member_prints",
            {"side": s},
            {"memberships": inputs[f"{s}_memberships"], "group_weights": weights},
        )
        for s in SIDES
    ]
    prints = dict(
        zip(("source_member_prints", "target_member_prints"), session.run_kept_at_once(calls), strict=True)
    )
    clock.lap("prints (weights, both sides at once)")
    session.release(weights)
    given = {"user_correlation": inputs["user_correlation"], **prints}
    differing = session.run("reconcile_membership_differing_users", None, given, keep=True)
    for table in prints.values():
        session.release(table)
    clock.lap("differing users")
    findings = run._part(
        session, "reconcile_membership_findings", None, {**inputs, "differing_users": differing}
    )
    session.release(differing)
    clock.lap("second read + findings")
    return findings


def numbered(session: Any, inputs: Mapping[str, Any]) -> tuple[Any, Any]:
    pairs = kept(session, PAIRS, {"user_correlation": inputs["user_correlation"]})
    groups = kept(
        session, GROUPS, {k: inputs[k] for k in ("group_correlation", "source_users", "target_users")}
    )
    return pairs, groups


def one_statement(on: str, one_probe: bool, pushdown: bool) -> Callable[..., Any]:
    """A: both translations and the FULL JOIN in one statement."""

    def design(session: Any, inputs: Mapping[str, Any], matched: int, parts: Parts) -> Any:
        clock = Clock(parts)
        pairs, groups = numbered(session, inputs)
        clock.lap("pairs and groups numbered")
        if one_probe:
            flags = {"source": "s_user", "target": "t_user"}
            ctes = "".join(MEMBERS.format(side=s, flag=flags[s]) for s in SIDES)
            ctes += "".join(f"{CTE[s]} AS ({TRANSLATE_ONE_PROBE.format(side=s)}), " for s in SIDES)
        else:
            ctes = "".join(f"{CTE[s]} AS ({translate(s, on)}), " for s in SIDES)
        given = {
            "pairs": pairs,
            "groups": groups,
            **{k: inputs[k] for k in (*NOTED, "source_memberships", "target_memberships")},
        }
        if not pushdown:
            session.con.execute("SET disabled_optimizers = 'join_filter_pushdown'")
        try:
            findings = kept(session, "WITH " + ctes + DIFF + NAMED, given)
        finally:
            if not pushdown:
                session.con.execute("RESET disabled_optimizers")
        clock.lap("translate both + FULL JOIN + findings (one statement)")
        session.release(pairs)
        session.release(groups)
        return findings

    return design


def translated_kept(session: Any, inputs: Mapping[str, Any], pairs: Any, groups: Any, on: str) -> list[Any]:
    items = [
        (translate(s, on), {f"{s}_memberships": inputs[f"{s}_memberships"], "pairs": pairs, "groups": groups})
        for s in SIDES
    ]
    return at_once(session, items)


def kept_translations(on: str) -> Callable[..., Any]:
    """A with each side's translation kept (at once), then the FULL JOIN."""

    def design(session: Any, inputs: Mapping[str, Any], matched: int, parts: Parts) -> Any:
        clock = Clock(parts)
        pairs, groups = numbered(session, inputs)
        clock.lap("pairs and groups numbered")
        src, tgt = translated_kept(session, inputs, pairs, groups, on)
        clock.lap("translate both (kept, at once)")
        given = {"src": src, "tgt": tgt, "pairs": pairs, "groups": groups, **{k: inputs[k] for k in NOTED}}
        findings = kept(session, "WITH " + DIFF + NAMED, given)
        clock.lap("FULL JOIN + findings")
        for table in (pairs, groups, src, tgt):
            session.release(table)
        return findings

    return design


def c_intprints(session: Any, inputs: Mapping[str, Any], matched: int, parts: Parts) -> Any:
    clock = Clock(parts)
    pairs, groups = numbered(session, inputs)
    clock.lap("pairs and groups numbered")
    rows = translated_kept(session, inputs, pairs, groups, TEXT_ON)
    clock.lap("translate both (kept, at once)")
    weights = session.keep(session.bind(run.random_weights(matched)))
    prints = at_once(session, [(INT_PRINTS, {"rows": r, "weights": weights}) for r in rows])
    clock.lap("prints by member number (at once)")
    differing = kept(session, INT_DIFFERING, dict(zip(("sp", "tp"), prints, strict=True)))
    clock.lap("differing members")
    given = {
        "source_rows": rows[0],
        "target_rows": rows[1],
        "differing": differing,
        "pairs": pairs,
        "groups": groups,
    }
    findings = kept(
        session, "WITH " + INT_EXPANDED + DIFF + NAMED, {**given, **{k: inputs[k] for k in NOTED}}
    )
    clock.lap("differing rows from memory + FULL JOIN + findings")
    for table in (pairs, groups, *rows, *prints, differing, weights):
        session.release(table)
    return findings


def rows_kept(kind: str) -> Callable[..., Any]:
    """B: each side's rows of matched groups kept by the first statement."""

    def design(session: Any, inputs: Mapping[str, Any], matched: int, parts: Parts) -> Any:
        clock = Clock(parts)
        weights = weights_kept(session, inputs, matched)
        wg = kept(session, WEIGHTS_NUMBERED, {"group_weights": weights})
        session.release(weights)
        items = [
            (ROWS[kind] + ROWS_FROM.format(side=s), {"memberships": inputs[f"{s}_memberships"], "wg": wg})
            for s in SIDES
        ]
        rows = at_once(session, items)
        clock.lap("rows kept (both at once)")
        prints = at_once(session, [(ROWS_PRINTS, {"rows": r, "wg": wg}) for r in rows])
        clock.lap("prints from the kept rows (at once)")
        given = {"user_correlation": inputs["user_correlation"]}
        given |= dict(zip(("source_member_prints", "target_member_prints"), prints, strict=True))
        differing = session.run("reconcile_membership_differing_users", None, given, keep=True)
        for table in prints:
            session.release(table)
        clock.lap("differing users")
        files = {
            f"{s}_memberships": session.query(
                ROWS_AS_FILE[kind].format(side=s), None, {"rows": r, "wg": wg, "differing": differing}
            )
            for s, r in zip(SIDES, rows, strict=True)
        }
        given = {**inputs, **files, "differing_users": differing}
        findings = run._part(session, "reconcile_membership_findings", None, given)
        clock.lap("differing rows from memory + findings")
        for table in (*rows, wg, differing):
            session.release(table)
        return findings

    return design


DESIGNS: dict[str, Callable[..., Any]] = {
    "today": today,
    "a_kept": kept_translations(TEXT_ON),
    "a_kept_key": kept_translations(KEY_AND_TEXT_ON),
    "a_one": one_statement(TEXT_ON, one_probe=False, pushdown=True),
    "a_one_key": one_statement(KEY_AND_TEXT_ON, one_probe=False, pushdown=True),
    "a_one_nojf": one_statement(TEXT_ON, one_probe=False, pushdown=False),
    "a_probe": one_statement(TEXT_ON, one_probe=True, pushdown=True),
    "a_probe_nojf": one_statement(TEXT_ON, one_probe=True, pushdown=False),
    "c_intprints": c_intprints,
    "b_rows": rows_kept("b_rows"),
    "b_compact": rows_kept("b_compact"),
    "b_keys": rows_kept("b_keys"),
}


def rows_differ(session: Any, a: Any, b: Any) -> int:
    """Rows of a not in b plus rows of b not in a (multisets)."""
    count = 0
    for x, y in ((a, b), (b, a)):
        query = f'SELECT count(*) FROM (SELECT * FROM "{x.kept}" EXCEPT ALL SELECT * FROM "{y.kept}")'
        count += int(session.con.sql(query).fetchall()[0][0])
    return count


def measure(names: list[str], rounds: int) -> tuple[dict[str, list[Parts]], Callable[..., Any]]:
    """A stand-in for run._membership_findings that measures ``names`` and returns today's rows."""
    results: dict[str, list[Parts]] = {}

    def instead(session: Any, inputs: Mapping[str, Any], matched: int, *, together: bool) -> Any:
        reference = None
        for number in range(rounds):
            for name in names[number % len(names) :] + names[: number % len(names)]:
                parts: Parts = {}
                started = time.process_time()
                table = DESIGNS[name](session, inputs, matched, parts)
                parts["rows"] = session.count(table)
                parts["in all"] = time.process_time() - started
                if name == "today" and reference is None:
                    reference = table
                    parts["differ from today"] = 0
                else:
                    assert reference is not None
                    parts["differ from today"] = rows_differ(session, reference, table)
                    session.release(table)
                parts["load"] = os.getloadavg()[0]
                results.setdefault(name, []).append(parts)
                print(name, {k: round(v, 2) for k, v in parts.items()}, flush=True)
        return reference

    return results, instead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="a directory generated by reconcile_bench.py (users-N)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--designs", default=",".join(DESIGNS), help="comma-separated; today is always measured"
    )
    args = parser.parse_args()
    names = ["today", *[n for n in args.designs.split(",") if n != "today"]]
    results, instead = measure(names, args.rounds)
    run._membership_findings = instead  # type: ignore[assignment]
    run.reconcile(Store(args.data), "idp", "app", config=load_config(args.data / "recon.toml"))
    print("\n| design | CPU s, median (rounds) | parts, medians | rows | differ from today |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        skip = {"rows", "in all", "differ from today", "load"}
        each = ", ".join(f"{p['in all']:.2f}" for p in runs)
        split = "; ".join(
            f"{k} {statistics.median(p[k] for p in runs):.2f}" for k in runs[0] if k not in skip
        )
        differ = max(p["differ from today"] for p in runs)
        total = statistics.median(p["in all"] for p in runs)
        print(f"| {name} | {total:.2f} ({each}) | {split} | {runs[0]['rows']:,.0f} | {differ:.0f} |")
    loads = [p["load"] for runs in results.values() for p in runs]
    print(f"\nload (1 min) {min(loads):.1f}-{max(loads):.1f}")


if __name__ == "__main__":
    main()
