"""Chunking by operation count and by the exact serialised size."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.bulk.chunking import chunk_operations
from recon.bulk.model import BulkOperation, BulkRequest
from recon.errors import UsageError


def op(n: int, pad: int = 0, ref: str | None = None) -> BulkOperation:
    value = f"bulkId:{ref}" if ref else "x" * pad
    return BulkOperation("POST", "/Users", f"b{n}", None, {"userName": f"user{n}", "nickName": value})


def exact_size(ops: list[BulkOperation]) -> int:
    return len(BulkRequest(tuple(ops)).to_bytes())


def test_a_chunk_exactly_at_the_limit_is_kept_whole() -> None:
    ops = [op(i, pad=i * 3) for i in range(10)]
    limit = exact_size(ops[:4])
    chunks = chunk_operations(ops, max_operations=100, max_payload_size=limit)
    assert len(chunks[0].operations) == 4
    assert len(chunks[0].to_bytes()) == limit
    assert all(len(c.to_bytes()) <= limit for c in chunks)


def test_one_byte_less_moves_the_last_operation_to_the_next_chunk() -> None:
    ops = [op(i, pad=i * 3) for i in range(10)]
    limit = exact_size(ops[:4]) - 1
    chunks = chunk_operations(ops, max_operations=100, max_payload_size=limit)
    assert len(chunks[0].operations) == 3
    assert chunks[1].operations[0] == ops[3]


def test_operation_count_limit() -> None:
    ops = [op(i) for i in range(7)]
    chunks = chunk_operations(ops, max_operations=3, max_payload_size=1_000_000)
    assert [len(c.operations) for c in chunks] == [3, 3, 1]
    assert [o for c in chunks for o in c.operations] == ops


def test_an_operation_larger_than_the_limit_is_a_clear_error() -> None:
    big = op(1, pad=500)
    with pytest.raises(
        UsageError, match=r"operation b1 \(POST /Users\) is \d+ bytes; .* exceeds maxPayloadSize 300"
    ):
        chunk_operations([big], max_operations=10, max_payload_size=300)


def test_a_reference_to_an_earlier_chunk_is_budgeted_at_the_id_length() -> None:
    creator = op(1)
    user = op(2, ref="b1")
    # both fit together (the reference stays a bulkId inside one request) ...
    together = exact_size([creator, user])
    assert len(chunk_operations([creator, user], max_operations=10, max_payload_size=together)) == 1
    # ... but when the referencing op starts a new chunk, apply sends the created id instead of
    # "bulkId:b1" (9 characters): budgeted at id_budget=40, i.e. 31 bytes more
    alone = exact_size([user])
    chunks = chunk_operations([creator, user], max_operations=1, max_payload_size=alone + 31, id_budget=40)
    assert [c.operations for c in chunks] == [(creator,), (user,)]
    with pytest.raises(UsageError, match="exceeds maxPayloadSize"):
        chunk_operations([creator, user], max_operations=1, max_payload_size=alone + 30, id_budget=40)


@settings(max_examples=200, deadline=None)
@given(
    pads=st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=30),
    max_operations=st.integers(min_value=1, max_value=8),
    extra=st.integers(min_value=0, max_value=600),
)
def test_chunks_are_greedy_ordered_and_within_limits(
    pads: list[int], max_operations: int, extra: int
) -> None:
    ops = [op(i, pad=p) for i, p in enumerate(pads)]
    limit = max(exact_size([o]) for o in ops) + extra
    chunks = chunk_operations(ops, max_operations=max_operations, max_payload_size=limit)
    assert [o for c in chunks for o in c.operations] == ops
    for index, chunk in enumerate(chunks):
        assert len(chunk.operations) <= max_operations
        assert len(chunk.to_bytes()) <= limit
        if index + 1 < len(chunks):  # greedy: the next operation did not fit
            grown = [*chunk.operations, chunks[index + 1].operations[0]]
            assert len(grown) > max_operations or exact_size(grown) > limit


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(["bulkId:u1", "/Users/bulkId:g-2", "bulkId:", "x"])
    | st.text(alphabet='ab/:"\\bulkId', max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["a", "b", "path"]), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_reference_scan_equals_a_walk_of_the_value(value: object) -> None:
    from recon.bulk.model import _walk_references, bulk_references

    assert bulk_references(value) == _walk_references(value)


@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(['"bulkId:', "/bulkId:", "bulkId:", '"', "/", "\\\\", '\\"', "u1", "x", ":", ","]),
        max_size=12,
    )
)
def test_the_fast_scan_finds_what_the_reference_pattern_finds(text: list[str]) -> None:
    """The scan of serialised JSON for ``bulkId:`` (a plain search where it may) equals the pattern."""
    import orjson

    from recon.bulk.model import _REFERENCE, _references_in

    blob = "".join(text).encode()

    def outcome(scan: Any) -> Any:
        try:
            return scan()
        except orjson.JSONDecodeError:  # an escape cut in two by the pattern raises either way
            return "raises"

    def by_pattern() -> list[str]:
        return [
            m.decode() if b"\\" not in m else orjson.loads(b'"' + m + b'"') for m in _REFERENCE.findall(blob)
        ]

    assert outcome(lambda: _references_in(blob)) == outcome(by_pattern)


def test_a_reference_spelt_with_an_escape_is_still_found() -> None:
    """parse_request skips the reference scan only for a text that cannot spell ``bulkId:``."""
    import orjson

    from recon.bulk.model import may_refer, parse_request

    spelt = b'{"Operations":[{"method":"PATCH","bulkId":"p1","path":"/Groups/\\u0062ulkId:g1","data":{}}]}'
    plain = b'{"Operations":[{"method":"DELETE","bulkId":"d1","path":"/Users/t1"}]}'
    assert may_refer(spelt) and may_refer(spelt.decode()) and not may_refer(plain)
    escaped = parse_request(orjson.loads(spelt), "x", unreferenced=not may_refer(spelt))
    assert escaped.operations[0].references() == ["g1"]
    bare = parse_request(orjson.loads(plain), "x", unreferenced=not may_refer(plain))
    assert bare.operations[0].references() == []


@settings(max_examples=300, deadline=None)
@given(value=json_values, path=st.sampled_from(["/Users/bulkId:u1", "/Groups/g1", "/Groups/bulkId:nope"]))
def test_substituted_references_equal_a_walk_swapping_every_segment(value: object, path: str) -> None:
    """substitute_references (with its in-line swap of a member's value) equals a plain walk."""
    from recon.bulk.model import BULK_ID_PREFIX, substitute_references

    created = {"u1": "id-1", "g-2": "id-2", "": "id-empty"}

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return "/".join(
                created.get(s[len(BULK_ID_PREFIX) :], s) if s.startswith(BULK_ID_PREFIX) else s
                for s in item.split("/")
            )
        if isinstance(item, list):
            return [walk(sub) for sub in item]
        if isinstance(item, dict):
            return {key: walk(sub) for key, sub in item.items()}
        return item

    member = {"value": "bulkId:u1", "ref": "bulkId:u1/bulkId:g-2", "x": "xbulkId:u1", "n": 1}
    data = {"members": [value, member, {"value": "bulkId:"}], "x": value}
    swapped = substitute_references(BulkOperation("PATCH", path, "m1", None, data), created)
    assert (swapped.path, swapped.data) == (walk(path), walk(data))
