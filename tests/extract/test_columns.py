"""The column-wise fast path gives exactly the rows of ``normalise``, or steps aside."""

from __future__ import annotations

from array import array
from functools import cache
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.extract.columns import UsersColumns, plain_texts, users_batch
from recon.extract.json_columns import lines_of, page_rows
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA, Rejected, normalise
from recon.fingerprint import content_sha256
from recon.schemas import USERS

ABSENT = object()

TEXTS = st.sampled_from(["", "Ann", "Ødegård 😀", "a\u0000b", " spaced ", "x" * 300])
ODD = st.sampled_from([5, 5.0, True, False, ["a"], {"a": 1}, "true", "False"])
STAMPS = st.sampled_from(
    [
        *["2026-03-01T10:00:00Z"] * 10,
        *["2026-03-01T11:00:00+01:00"] * 10,
        "2026-03-01T11:00:00+01:00",
        "2026-03-01T05:30:00.000-04:30",
        "2026-03-01T10:00:00.1Z",
        "2026-03-01T10:00:00.12345+05:45",
        "2026-03-01T10:00:00.123456-00:00",
        "2026-03-01T11:00:00+0100",  # not the strict form: fromisoformat decides
        "2026-03-01 10:00:00Z",
        " 2026-03-01T10:00:00Z ",
        "2026-03-01T10:00Z",
        "2026-03-01T10:00:00.1234567Z",
        "2026-03-01T10:00:00+01:00:30",
        "2026-03-01T10:00:00+01:00:30.5",
        "2026-03-01T10:00:00",  # no offset: an anomaly
        "2026-02-30T10:00:00Z",
        "2024-02-29T23:59:59+23:59",
        "0001-01-01T00:30:00+01:00",  # astimezone overflows
        "0001-01-01T00:30:00-01:00",
        "9999-12-31T23:00:00-01:30",
        "1969-12-31T23:59:59.999999Z",
        "yesterday",
        "",
    ]
)


JUST_ABSENT, JUST_NONE = st.just(ABSENT), st.just(None)


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``values``; sometimes absent, null or (rarely) a value of another JSON type."""
    return st.integers(0, 59).flatmap(
        lambda n: ODD if n == 0 else JUST_ABSENT if n < 6 else JUST_NONE if n < 10 else values
    )


@cache  # built once: hypothesis spends most of this file's time building strategies
def email() -> st.SearchStrategy[Any]:
    item = st.fixed_dictionaries(
        {},
        optional={
            "value": maybe(TEXTS),
            "type": maybe(st.sampled_from(["work", "WORK", "Work", "home", "other", "wörk", "WOR\u212a"])),
            "primary": maybe(st.booleans()),
            "display": TEXTS,
        },
    )
    return st.integers(0, 29).flatmap(lambda n: st.sampled_from([None, "x@example.com"]) if n == 0 else item)


def clean(value: Any) -> Any:
    """``value`` without the attributes drawn as absent."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not ABSENT}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


@cache  # one strategy per position in a page (at most 6), not one per draw
def user(index: int) -> st.SearchStrategy[dict[str, Any]]:
    schemas = st.sampled_from(
        [[USER_SCHEMA]] * 5 + [[USER_SCHEMA, ENTERPRISE_USER]] * 5 + [[GROUP_SCHEMA], ["urn:example:custom"]]
    )
    return st.fixed_dictionaries(
        {
            "schemas": st.integers(0, 29).flatmap(lambda n: st.just(USER_SCHEMA) if n == 0 else schemas),
            "id": st.integers(0, 29).flatmap(
                lambda n: st.sampled_from(["", index, None]) if n == 0 else st.just(f"u{index:04d}")
            ),
            "userName": maybe(TEXTS),
            "externalId": maybe(TEXTS),
            "active": maybe(st.booleans()),
            "displayName": maybe(TEXTS),
            "title": maybe(TEXTS),
            "userType": maybe(TEXTS),
            "name": maybe(
                st.fixed_dictionaries({}, optional={"givenName": maybe(TEXTS), "familyName": maybe(TEXTS)})
            ),
            "emails": maybe(st.lists(email(), max_size=4)),
            ENTERPRISE_USER: maybe(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "employeeNumber": maybe(TEXTS),
                        "department": maybe(TEXTS),
                        "manager": maybe(st.fixed_dictionaries({}, optional={"value": maybe(TEXTS)})),
                    },
                )
            ),
            "meta": maybe(
                st.fixed_dictionaries(
                    {"resourceType": st.just("User")},
                    optional={
                        "created": maybe(STAMPS),
                        "lastModified": maybe(STAMPS),
                        "version": maybe(TEXTS),
                    },
                )
            ),
        }
    ).map(clean)


@st.composite
def pages(draw: st.DrawFn) -> list[Any]:
    size = draw(st.integers(min_value=1, max_value=6))
    return [draw(user(i)) for i in range(size)]


def rows_of(page: list[Any]) -> pa.RecordBatch | None:
    """What ``normalise`` makes of the page, or None when it rejects or notes anything."""
    rows = []
    for resource in page:
        try:
            result = normalise(resource)
        except Rejected:
            return None
        except OverflowError:
            return None  # normalise fails outright there; the fast path must not accept it either
        if result.anomalies or result.resource_type != "User":
            return None
        rows.append(result.row)
    return pa.RecordBatch.from_pylist(rows, schema=USERS)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages())
def test_fast_path_equals_normalise_or_steps_aside(page: list[Any]) -> None:
    batch = users_batch(page)
    if batch is None:
        return
    expected = rows_of(page)
    assert expected is not None, "the fast path accepted a page normalise rejects or notes"
    assert batch.equals(expected)


@pytest.mark.parametrize("stamp", ["2026-03-01T10:00:00Z", "2026-03-01T11:00:00+01:00", "2026-03-01T10:00Z"])
def test_plain_pages_take_the_fast_path(stamp: str) -> None:
    page = [
        {
            "schemas": [USER_SCHEMA, ENTERPRISE_USER],
            "id": f"u{i}",
            "userName": f"user{i}@example.com",
            "active": i % 2 == 0,
            "name": {"givenName": "Ann", "familyName": "Ødegård"},
            "emails": [
                {"value": f"h{i}@x", "type": "home"},
                {"value": f"w{i}@x", "type": "Work", "primary": i % 3 == 0},
            ][: i % 3],
            ENTERPRISE_USER: {"department": "R&D", "manager": {"value": "u0"}},
            "meta": {"resourceType": "User", "created": stamp, "lastModified": stamp},
        }
        for i in range(50)
    ]
    batch = users_batch(page)
    assert batch is not None
    assert batch.equals(rows_of(page))


def test_a_group_or_a_rejected_resource_sends_the_page_to_normalise() -> None:
    plain = {"schemas": [USER_SCHEMA], "id": "u1", "userName": "a"}
    assert users_batch([plain]) is not None
    assert users_batch([plain, {"schemas": [GROUP_SCHEMA], "id": "g1"}]) is None
    assert users_batch([plain, {"schemas": [USER_SCHEMA], "id": "u2", "active": "true"}]) is None
    assert users_batch([plain, {"schemas": [USER_SCHEMA], "id": 7}]) is None
    assert users_batch([]) is None


def test_pages_made_several_at_a_time_get_the_answer_they_get_alone() -> None:
    def page(first: int, **odd: Any) -> list[dict[str, Any]]:
        ids = range(first, first + 5)
        return [{"schemas": [USER_SCHEMA], "id": f"u{i:03d}", "userName": f"n{i}", **odd} for i in ids]

    pages = [
        page(0),
        page(5, active="true"),  # coerced by normalise: not plain
        page(10, meta={"created": "2026-03-01T10:00:00+0100"}),  # plain, timestamp read by fromisoformat
        page(15, meta={"created": "2026-03-01T10:00:00"}),  # no offset: not plain
        page(20),
        page(25, emails=[{"value": "x", "type": "WÖRK"}]),  # beyond ASCII: left to normalise
        page(30),
    ]
    columns: UsersColumns[int] = UsersColumns(pages=3)
    done = []
    for number, resources in enumerate(pages):
        done += columns.add(number, plain_texts(resources))
    done += columns.drain()
    columns.close()
    assert [tag for tag, _, _ in done] == list(range(len(pages)))
    for (number, _, batch), resources in zip(done, pages, strict=True):
        alone = users_batch(resources)
        assert (batch is None) == (alone is None) == (number in (1, 3, 5))
        if batch is not None:
            assert batch.equals(rows_of(resources))


def test_prints_given_by_the_caller_are_the_ones_made_from_the_texts() -> None:
    def page(first: int, **odd: Any) -> list[dict[str, Any]]:
        ids = range(first, first + 4)
        return [{"schemas": [USER_SCHEMA], "id": f"u{i:03d}", "userName": f"Ü{i}", **odd} for i in ids]

    pages = [page(0), page(4, active="true"), page(8, title="Dr")]  # the second is not plain
    texts = [orjson.dumps(resource) for resources in pages for resource in resources]
    prints = [content_sha256(resource, "User") for resources in pages for resource in resources]
    text, offsets = lines_of(texts)
    buffers = pa.py_buffer(text), pa.py_buffer(array("i", offsets))
    made = page_rows(*buffers, [4, 4, 4])
    given = page_rows(*buffers, [4, 4, 4], pa.array(prints, pa.binary()))
    assert made[1] is None and given[1] is None
    for mine, theirs, resources in ((made[0], given[0], pages[0]), (made[2], given[2], pages[2])):
        assert mine is not None and theirs is not None and theirs.equals(mine)
        assert theirs.equals(rows_of(resources))
    wrong = page_rows(*buffers, [4, 4, 4], pa.array([b"x" * 32] * 12, pa.binary()))  # really the caller's
    assert wrong[0] is not None and wrong[0].column("content_sha256").to_pylist() == [b"x" * 32] * 4
