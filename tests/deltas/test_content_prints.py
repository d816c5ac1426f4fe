"""content_sha256 (recon.fingerprint): every writer stores the same print, it leaves out meta, and
recon deltas gives the same findings with prints, with null prints and without the column."""

from __future__ import annotations

import hashlib
import json
from array import array
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.deltas import deltas
from recon.deltas.run import _with_prints
from recon.engine import open_session
from recon.extract.columns import plain_texts, users_batch
from recon.extract.files import import_files
from recon.extract.json_columns import lines_of, page_rows
from recon.extract.normalize import normalise
from recon.extract.writer import ExportWriter
from recon.fingerprint import content_sha256, content_sha256_borrowing, content_sha256_of_text
from recon.simulate.run import simulate
from recon.store import Manifest, Store
from tests.deltas.test_deltas_import import EXPECTED, load, rows

U = "urn:ietf:params:scim:schemas:core:2.0:User"
G = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER = {
    "schemas": [U, ENTERPRISE],
    "id": "u1",
    "userName": "alice",
    "name": {"givenName": "Alice", "familyName": "Liddell"},
    "emails": [{"value": "alice@x.com", "type": "work", "primary": True}],
    "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
    ENTERPRISE: {"department": "Eng", "costCenter": "42"},
    "meta": {"resourceType": "User", "lastModified": "2026-01-04T10:00:00Z"},
}
GROUP = {
    "schemas": [G],
    "id": "g1",
    "displayName": "Staff",
    "members": [{"value": "u1", "type": "User"}],
    "meta": {"resourceType": "Group", "lastModified": "2026-01-04T10:00:00Z"},
}


def expected_print(resource: dict[str, Any], *left_out: str) -> bytes:
    """SHA-256 of the resource without meta (and ``left_out``), keys sorted: written with the
    standard library's json, not with the code under test."""
    content = {k: v for k, v in resource.items() if k not in {"meta", *left_out}}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).digest()


def prints(path: Path) -> dict[str, bytes | None]:
    table = pq.read_table(path, columns=["id", "content_sha256"])
    return dict(zip(table.column("id").to_pylist(), table.column("content_sha256").to_pylist(), strict=True))


def test_the_same_resource_gets_the_same_print_from_every_writer(tmp_path: Path, store: Store) -> None:
    want_user, want_group = expected_print(USER), expected_print(GROUP, "members")
    # live extraction: normalise (with and without the text), and the Arrow fast path
    assert normalise(USER).row["content_sha256"] == want_user
    assert normalise(USER, json.dumps(USER)).row["content_sha256"] == want_user
    assert normalise(GROUP).row["content_sha256"] == want_group
    text, offsets = lines_of([json.dumps(USER).encode()])
    (batch,) = page_rows(pa.py_buffer(text), pa.py_buffer(array("i", offsets)), [1])
    assert batch is not None
    assert batch.column(batch.schema.get_field_index("content_sha256")).to_pylist() == [want_user]
    # live pages of plain users: the print made from each parsed object (meta last, or not)
    meta_first = {"meta": USER["meta"], **{k: v for k, v in USER.items() if k != "meta"}}
    page = [json.loads(json.dumps(USER)), meta_first]
    before = orjson.dumps(page)
    assert plain_texts(page)[1] == [want_user, want_user]
    assert orjson.dumps(page) == before  # the objects are left as they were, key order included
    live = users_batch(page)
    assert live is not None
    assert live.column(live.schema.get_field_index("content_sha256")).to_pylist() == [want_user] * 2
    # recon import: NDJSON and a ListResponse document (parsed by ijson)
    (tmp_path / "a.ndjson").write_text(json.dumps(USER) + "\n" + json.dumps(GROUP) + "\n")
    listed = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Resources": [GROUP, USER]}
    (tmp_path / "b.json").write_text(json.dumps(listed))
    for cycle, name in (("c1", "a.ndjson"), ("c2", "b.json")):
        import_files(store, [tmp_path / name], system="idp", cycle=cycle)
        ref = store.complete_export("idp", cycle, "full")
        assert prints(ref.table("users")) == {"u1": want_user}
        assert prints(ref.table("groups")) == {"g1": want_group}
    # the writer's DuckDB path (users out of id order are sorted and deduplicated by SQL)
    later = {**USER, "id": "u0", "userName": "zed"}
    staging = tmp_path / "staging"
    staging.mkdir()
    writer = ExportWriter(staging)
    for resource in (USER, later, GROUP):
        writer.add(normalise(resource))
    con = open_session(memory_limit="256MB")
    try:
        writer.finish(con, Manifest(system="idp", cycle="c3", kind="full"))
    finally:
        con.close()
    assert prints(staging / "users.parquet") == {"u0": expected_print(later), "u1": want_user}
    assert prints(staging / "groups.parquet") == {"g1": want_group}


def test_the_simulator_stores_each_resource_s_print(tmp_path: Path) -> None:
    simulate(tmp_path / "sim", users=40, cycles=2, seed=3)
    files = sorted((tmp_path / "sim").rglob("users.parquet")) + sorted(
        (tmp_path / "sim").rglob("groups.parquet")
    )
    assert files
    for path in files:
        table = pq.read_table(path, columns=["raw", "content_sha256"]).to_pylist()
        for row in table:
            left_out = ("members",) if "groups" in path.name else ()
            assert row["content_sha256"] == expected_print(json.loads(row["raw"]), *left_out), path


def test_the_print_leaves_out_meta_and_a_re_cased_value_changes_it() -> None:
    bumped = {
        **USER,
        "meta": {"resourceType": "User", "lastModified": "2026-02-01T00:00:00Z", "version": 'W/"2"'},
    }
    assert normalise(bumped).row["content_sha256"] == normalise(USER).row["content_sha256"]
    re_cased = {**USER, "userName": "ALICE"}
    assert normalise(re_cased).row["content_sha256"] != normalise(USER).row["content_sha256"]
    reordered_keys = dict(reversed(list(USER.items())))
    assert normalise(reordered_keys).row["content_sha256"] == normalise(USER).row["content_sha256"]


def test_a_bump_only_is_unchanged_and_a_re_cased_value_is_no_change(tmp_path: Path, store: Store) -> None:
    def user(uid: str, name: str, lm: str) -> dict[str, Any]:
        return {"schemas": [U], "id": uid, "userName": name, "meta": {"lastModified": lm}}

    base = [user("u1", "alice", "2026-01-04T10:00:00Z"), user("u2", "bob", "2026-01-04T10:00:00Z")]
    head = [user("u1", "alice", "2026-01-05T03:00:00Z"), user("u2", "BOB", "2026-01-04T10:00:00Z")]
    for cycle, resources in (("c1", base), ("c2", head)):
        (tmp_path / f"{cycle}.ndjson").write_text("".join(json.dumps(r) + "\n" for r in resources))
        import_files(store, [tmp_path / f"{cycle}.ndjson"], system="idp", cycle=cycle)
    (tmp_path / "d.ndjson").write_text(json.dumps(head[0]) + "\n")
    import_files(
        store, [tmp_path / "d.ndjson"], system="idp", cycle="c2", kind="delta", since="2026-01-05T02:00:00Z"
    )
    b, h = (prints(store.complete_export("idp", c, "full").table("users")) for c in ("c1", "c2"))
    assert b["u1"] == h["u1"]  # lastModified bumped only
    assert b["u2"] != h["u2"]  # userName re-cased: compared by recon.content, caseExact false
    summary = deltas(store, "idp")
    assert rows(summary.findings_path) == {("unchanged_returned", "User", "u1", "alice")}
    assert summary.by_type["User"]["changed"] == 0


def _rewrite(path: Path, how: str) -> None:
    table = pq.read_table(path)
    at = table.schema.get_field_index("content_sha256")
    if how == "absent":
        table = table.remove_column(at)
    else:
        table = table.set_column(at, "content_sha256", pa.nulls(table.num_rows, pa.binary()))
    pq.write_table(table, path)


def _summary(store: Store) -> tuple[set[tuple[str, ...]], list[dict[str, Any]], dict[str, Any]]:
    summary = deltas(store, "idp")
    details = pq.read_table(summary.findings_path).to_pylist()
    body = summary.to_json()
    return rows(summary.findings_path), details, body


@pytest.mark.parametrize(
    ("how", "sides"),
    [("absent", ("c1", "c2")), ("absent", ("c1",)), ("null", ("c1", "c2")), ("null", ("c2",))],
)
def test_exports_without_prints_give_the_same_findings(
    tmp_path: Path, store: Store, how: str, sides: tuple[str, ...]
) -> None:
    load(tmp_path, store, since="2026-01-05T02:00:00Z")
    base_ref, head_ref = (store.complete_export("idp", c, "full") for c in ("c1", "c2"))
    assert _with_prints("users", base_ref, head_ref)
    with_prints = _summary(store)
    assert with_prints[0] == EXPECTED
    for cycle in sides:
        for table in ("users", "groups"):
            _rewrite(store.complete_export("idp", cycle, "full").table(table), how)
    # a null print is still a column: those exports take the prints path, the raw texts compared
    assert _with_prints("users", base_ref, head_ref) is (how == "null")
    assert _with_prints("groups", base_ref, head_ref) is (how == "null")
    assert _summary(store) == with_prints


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    content=st.dictionaries(
        st.text(max_size=8).filter(lambda k: k not in ("meta", "members")), _JSON, max_size=6
    ),
    meta=_JSON,
    members=_JSON,
    kind=st.sampled_from(["User", "Group"]),
)
def test_print_of_a_parsed_object_and_of_its_text_agree_and_ignore_meta(
    content: dict[str, Any], meta: Any, members: Any, kind: str
) -> None:
    resource = {**content, "meta": meta, "members": members}
    printed = content_sha256(resource, kind)
    assert printed is not None and len(printed) == 32
    assert content_sha256_of_text(orjson.dumps(resource), kind) == printed
    for owned in (resource, {**content, "members": members, "meta": meta}, {**content, "meta": meta}):
        text = orjson.dumps(owned)
        assert content_sha256_borrowing([owned], kind) == [content_sha256(owned, kind)]
        assert orjson.dumps(owned) == text  # put back as it was, key order included
    assert content_sha256(dict(reversed(list(resource.items()))), kind) == printed  # key order
    assert content_sha256({**resource, "meta": {"lastModified": "2026-02-01T00:00:00Z"}}, kind) == printed
    # a group's members are not in its print (memberships carry them); a user's are
    assert (content_sha256({**resource, "members": [members]}, kind) == printed) == (kind == "Group")
    changed = {**resource, "x-extra": [resource.get("x-extra")]}  # [v] is never v
    assert content_sha256(changed, kind) != printed
