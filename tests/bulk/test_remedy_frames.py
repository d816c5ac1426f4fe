"""The group PATCHes written from columns (RemedyBuilder's frame methods, what plan uses) are the
operations and bytes of the per-row path, including the cases it hands back to that path."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.bulk.model import bulk_references
from recon.bulk.plan import _entries
from recon.bulk.remedies import FINDING_ROW_COLUMNS, NEW_MEMBERSHIP_COLUMNS, PlannedOp, RemedyBuilder
from recon.errors import UsageError
from recon.extract.normalize import USER_SCHEMA


def _builder(max_bytes: int, delete_orphans: bool = False) -> RemedyBuilder:
    return RemedyBuilder(
        match_rules=[("id", "externalId")],
        group_match_rules=[("id", "externalId")],
        use_if_match=True,
        delete_orphans=delete_orphans,
        max_operation_bytes=max_bytes,
        id_budget=36,
    )


def _finding(kind: str, **values: Any) -> dict[str, Any]:
    return {column: values.get(column) for column in FINDING_ROW_COLUMNS} | {"kind": kind}


def _membership(**values: Any) -> dict[str, Any]:
    return {column: values.get(column) for column in NEW_MEMBERSHIP_COLUMNS}


def _inputs(odd: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Findings and new memberships touching existing groups: memberships missing and in excess,
    created users added (one whose creation is skipped), an orphan and a user drift around them;
    ``odd`` is a member id written into one group (escapes, a bulkId:-like id, …)."""
    raw = json.dumps({"schemas": [USER_SCHEMA], "id": "s1", "userName": "ann"})
    findings = [
        _finding("missing_in_target", source_id="s1", source_raw=raw),
        _finding("missing_in_target", source_id="s2", source_raw=None),  # skipped: no raw
        _finding("missing_in_target", source_id="s9", source_raw=""),  # skipped: no raw
        # the same source user twice: the later row's raw text and finding are planned
        _finding("missing_in_target", source_id="s1", group_id="again", source_raw=raw.replace("ann", "bo")),
        _finding("orphaned_in_target", target_id="o1", target_version='W/"2"', target_active=True),
        _finding("orphaned_in_target", target_id="o2", target_active=False),  # skipped: inactive
        _finding("orphaned_in_target", target_id=odd, target_version='W/"4"'),
        _finding("delayed_activation", target_id="t-act", source_id="s5", target_version='W/"1"'),
        _finding("delayed_deactivation", target_id="t-off", source_id="s6"),
        # an account with two changes: one PATCH (the per-row path's)
        _finding("delayed_deactivation", target_id="t-two", source_id="s1", source_raw=raw),
        _finding(
            "attribute_mismatch", target_id="t-two", source_id="s1", source_raw=raw, attribute="userName"
        ),
    ]
    for group in ("tg-b", "tg-a", "tg-c"):
        for n in range(3):
            findings.append(
                _finding(
                    "membership_missing",
                    target_group_id=group,
                    target_id=f"t{n}",
                    source_id=f"s{n}",
                    group_id="sg",
                    target_version='W/"7"' if group != "tg-c" else None,
                    member_type=None if n == 0 else "User",
                )
            )
        findings.append(
            _finding(
                "membership_excess", target_group_id=group, target_id=f"x-{group}", target_version='W/"7"'
            )
        )
    findings.append(_finding("membership_missing", target_group_id="tg-a", target_id=odd, member_type="User"))
    findings.append(_finding("membership_excess", target_group_id="tg-c", target_id=odd))
    members = [
        _membership(
            source_group_id="sg-a",
            group_is_new=False,
            target_group_id="tg-a",
            target_group_version='W/"9"',
            source_member_id=member,
            member_type="User",
            member_is_new=True,
        )
        for member in ("s1", "s2")  # s2's creation is skipped: not added
    ]
    group_raw = json.dumps({"id": "sg-new", "displayName": "New"})
    findings.append(_finding("group_missing_in_target", group_id="sg-new", source_raw=group_raw))
    members += [  # the created group: a member of an existing group, and with members of its own
        _membership(
            source_group_id="sg-a",
            group_is_new=False,
            target_group_id="tg-a",
            target_group_version='W/"9"',
            source_member_id="sg-new",
            member_type="Group",
            member_is_new=True,
        ),
        _membership(
            source_group_id="sg-new",
            group_is_new=True,
            source_member_id="s1",
            member_type="User",
            member_is_new=True,
        ),
        _membership(
            source_group_id="sg-new",
            group_is_new=True,
            source_member_id="s8",
            member_type="User",
            member_is_new=False,
            target_member_id="t8",
        ),
    ]
    members.append(
        _membership(
            source_group_id="sg-d",
            group_is_new=False,
            target_group_id="tg-d",
            target_group_version='W/"3"',
            source_member_id="s7",
            member_type="User",
            member_is_new=False,
            target_member_id="t7",
        )
    )
    return findings, members


def _both_ways(
    findings: list[dict[str, Any]], members: list[dict[str, Any]], max_bytes: int, delete_orphans: bool
) -> tuple[RemedyBuilder, RemedyBuilder]:
    """Two builders given the same inputs: one row by row, one as typed frames."""
    return _by_rows(findings, members, max_bytes, delete_orphans), _by_frames(
        findings, members, max_bytes, delete_orphans
    )


_Rows = list[dict[str, Any]]


def _by_rows(findings: _Rows, members: _Rows, max_bytes: int, delete_orphans: bool = False) -> RemedyBuilder:
    builder = _builder(max_bytes, delete_orphans)
    for row in findings:
        builder.add_finding(row)
    for member in members:
        builder.add_new_membership(member)
    return builder


def _by_frames(
    findings: _Rows, members: _Rows, max_bytes: int, delete_orphans: bool = False
) -> RemedyBuilder:
    builder = _builder(max_bytes, delete_orphans)
    builder.add_findings_frame(pl.DataFrame(findings, schema=_schema(FINDING_ROW_COLUMNS)))
    builder.add_new_memberships_frame(pl.DataFrame(members, schema=_schema(NEW_MEMBERSHIP_COLUMNS)))
    return builder


def _plan(builder: RemedyBuilder, planned: list[PlannedOp] | None = None) -> list[tuple[Any, ...]]:
    return [
        (
            p.kind,
            p.phase,
            p.target_id,
            p.source_id,
            p.remediates,
            p.lookup,
            p.operation.encoded,
            p.operation.references(),
            p.to_json(),
        )
        for p in (builder.operations() if planned is None else planned)
    ]


@pytest.mark.parametrize(
    "odd",
    ["t-plain", 'quote"d', "back\\slash", "tab\there", "ünï-cödé", "bulkId:u:s1", "bulkId:zz", "x/bulkId:u1"],
)
@pytest.mark.parametrize(("max_bytes", "delete_orphans"), [(100_000, False), (330, False), (250, True)])
def test_frames_plan_what_rows_plan(odd: str, max_bytes: int, delete_orphans: bool) -> None:
    by_rows, by_frames = _both_ways(*_inputs(odd), max_bytes, delete_orphans)
    planned = by_frames.operations()
    for op in (p.operation for p in planned):  # references given with the bytes are the searched ones
        assert op.references() == bulk_references({"path": op.path, "data": op.data})
    expected, got = _plan(by_rows), _plan(by_frames, planned)
    assert got == expected
    # plan.json's entries: to_json()'s bytes
    assert orjson.dumps(_entries(planned)) == orjson.dumps([p.to_json() for p in planned])
    kinds = {kind for kind, *_ in got}
    assert {"update_group_members", "update_user", "deactivate_user", "create_group"} <= kinds
    assert ("delete_user" in kinds) == delete_orphans
    assert [s.reason for s in by_frames.skipped] == [s.reason for s in by_rows.skipped]


def test_a_group_patch_from_columns_reads_its_data_back() -> None:
    builder = _by_frames(*_inputs("t-plain"), 100_000)
    planned = builder.operations()
    ops = [p.operation for p in planned if p.kind == "update_group_members"]
    assert [op.path for op in ops] == ["/Groups/tg-a", "/Groups/tg-b", "/Groups/tg-c", "/Groups/tg-d"]
    first = ops[0]
    [activation] = [p.operation for p in planned if p.target_id == "t-act"]
    assert activation.data == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": True}],
    }
    assert first.version == 'W/"7"' and orjson.loads(first.encoded)["data"] == first.data
    assert first.data is not None
    [add, remove] = first.data["Operations"]
    assert [m["value"] for m in add["value"]] == ["t0", "t1", "t2", "t-plain", "bulkId:u1", "bulkId:g2"]
    assert remove == {"op": "remove", "path": 'members[value eq "x-tg-a"]'}
    moved = dataclasses.replace(first, path="/Groups/elsewhere")
    assert moved.data == first.data and orjson.loads(moved.encoded)["path"] == "/Groups/elsewhere"


def _schema(columns: tuple[str, ...]) -> dict[str, Any]:
    flags = {"group_is_new", "member_is_new", "target_active"}
    return {c: pl.Boolean if c in flags else pl.String for c in columns}


def test_frames_in_parts_and_of_null_columns_plan_what_rows_plan() -> None:
    """Frames as polars infers them (a column of nulls only is typed Null) and given in two parts
    each: the same plan as the rows in one go."""
    findings, members = _inputs("t-plain")
    by_rows = _by_rows(findings, members, 100_000)
    by_frames = _builder(100_000)
    half, members_half = len(findings) // 2, len(members) // 2
    for part in (findings[:half], findings[half:]):
        by_frames.add_findings_frame(pl.DataFrame(part).select(FINDING_ROW_COLUMNS))
    for more in (members[:members_half], members[members_half:]):
        by_frames.add_new_memberships_frame(pl.DataFrame(more).select(NEW_MEMBERSHIP_COLUMNS))
    assert _plan(by_frames) == _plan(by_rows)
    assert [s.reason for s in by_frames.skipped] == [s.reason for s in by_rows.skipped]


def test_operations_asked_twice_plan_the_same_changes() -> None:
    """As with the rows path, a second operations() plans the same changes (bulk ids go on)."""
    builder = _by_frames(*_inputs("t-plain"), 100_000)
    first, second = builder.operations(), builder.operations()
    assert [(p.kind, p.target_id, p.remediates) for p in first] == [
        (p.kind, p.target_id, p.remediates) for p in second
    ]


# -- drawn inputs: the column path against the per-row path ---------------------------------------
_IDS = st.one_of(
    st.sampled_from(["t1", "t2", "s1", 'q"d', "b\\s", "tab\t", "ü"]),
    st.sampled_from(["bulkId:u:s1", "bulkId:zz", "x/bulkId:u1"]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6),
)
_GROUPS = st.sampled_from(["tg-a", "tg-b", 'tg-"c', "tg-ü"])
_VERSIONS = st.sampled_from([None, 'W/"1"', 'W/"2"', 'W/"\\"3'])
_TYPES = st.sampled_from([None, "", "User", "Group"])
_RAW = json.dumps({"schemas": [USER_SCHEMA], "id": "s1", "userName": "ann"})

_membership_finding = st.builds(
    lambda kind, group, member, version, member_type: _finding(
        kind, target_group_id=group, target_id=member, target_version=version, member_type=member_type
    ),
    st.sampled_from(["membership_missing", "membership_excess"]),
    _GROUPS,
    _IDS,
    _VERSIONS,
    _TYPES,
)
_ACCOUNT_KINDS = ("delayed_activation", "delayed_deactivation", "orphaned_in_target", "attribute_mismatch")
_account_finding = st.builds(
    lambda kind, account, source, version, active: _finding(
        kind,
        target_id=account,
        source_id=source,
        target_version=version,
        target_active=active,
        source_raw=_RAW if kind == "attribute_mismatch" else None,
        attribute="userName" if kind == "attribute_mismatch" else None,
    ),
    st.sampled_from(_ACCOUNT_KINDS),
    st.sampled_from(["a1", "a2", 'a"3']),
    st.sampled_from(["s1", "s2", "s5"]),
    _VERSIONS,
    st.sampled_from([None, True, False]),
)
_creation = st.builds(
    lambda source, raw: _finding("missing_in_target", source_id=source, source_raw=raw),
    st.sampled_from(["s1", "s2", 'q"d', "ü"]),
    st.sampled_from([_RAW, None, ""]),
)
_new_membership = st.builds(
    lambda group, version, source_member, member_type, is_new, target_member: _membership(
        source_group_id="sg",
        group_is_new=False,
        target_group_id=group,
        target_group_version=version,
        source_member_id=source_member,
        member_type=member_type,
        member_is_new=is_new,
        target_member_id=None if is_new else target_member,
    ),
    _GROUPS,
    _VERSIONS,
    st.sampled_from(["s1", "s2", 'q"d', "ü"]),
    st.sampled_from(["User", "Group"]),
    st.booleans(),
    _IDS,
)


@settings(max_examples=150, deadline=None)
@given(
    findings=st.lists(st.one_of(_membership_finding, _account_finding, _creation), max_size=14),
    members=st.lists(_new_membership, max_size=8),
    max_bytes=st.sampled_from([250, 330, 600, 100_000]),
    delete_orphans=st.booleans(),
)
def test_drawn_frames_plan_what_rows_plan(
    findings: list[dict[str, Any]], members: list[dict[str, Any]], max_bytes: int, delete_orphans: bool
) -> None:
    """Any mix of findings and new memberships of existing groups (ids that JSON must escape, or
    that spell a bulkId:, repeated members, groups and accounts, limits that split PATCHes): the
    frames give the operations, bytes, references, plan.json entries and skips of the rows."""
    by_rows, by_frames = _both_ways(findings, members, max_bytes, delete_orphans)
    try:
        expected = _plan(by_rows)
    except UsageError as error:  # a change too large for the limit: the frames say so too
        with pytest.raises(UsageError, match=re.escape(str(error))):
            _plan(by_frames)
        return
    planned = by_frames.operations()
    assert _plan(by_frames, planned) == expected
    for op in (p.operation for p in planned):  # bytes written piece by piece: orjson's of the whole
        assert op.encoded == orjson.dumps(op.to_json())
    assert orjson.dumps(_entries(planned)) == orjson.dumps([p.to_json() for p in planned])
    assert [s.reason for s in by_frames.skipped] == [s.reason for s in by_rows.skipped]
