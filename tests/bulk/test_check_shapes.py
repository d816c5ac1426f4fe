"""A creation's value checks, read through the cached layout of its body (recon.bulk.expect._shape),
are the ones recon.bulk.expect._flatten's paths give: random bodies, with keys spelled twice in
different cases, extension URNs and ``name`` as objects or not, sub-keys in any case."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from recon.bulk.expect import _GROUP_COLUMNS, _USER_COLUMNS, _flatten, _resource_checks, _value

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
KEYS = (
    "schemas", "id", "meta", "userName", "USERNAME", "active", "externalId", "displayName", "title", "name",
    "NAME", "emails", "members", ENT, ENT.lower(), "urn:x:other", "nickName",
)  # fmt: skip
SUBS = (
    "givenName",
    "GIVENNAME",
    "familyName",
    "department",
    "Department",
    "manager",
    "employeeNumber",
    "value",
)
leaf = st.one_of(
    st.none(), st.booleans(), st.integers(0, 3), st.sampled_from(["", "a", "bulkId:b", "x/bulkId:c"])
)
value = st.one_of(
    leaf,
    st.dictionaries(
        st.sampled_from(SUBS), st.one_of(leaf, st.dictionaries(st.sampled_from(SUBS), leaf)), max_size=4
    ),
    st.lists(st.dictionaries(st.sampled_from(("value", "type", "primary")), leaf, max_size=3), max_size=2),
)


def _by_flatten(resource_type: str, data: dict[str, Any]) -> list[Any]:
    """What _resource_checks made before the layouts were cached (value checks only)."""
    columns = _USER_COLUMNS if resource_type == "User" else _GROUP_COLUMNS
    checks = []
    for path, found in _flatten(data).items():
        column = columns.get(path)
        if column is not None and found is not None:
            expectation = _value(column, path, found)
            if expectation is not None:
                checks.append(expectation)
    return checks


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(["User", "Group"]), st.dictionaries(st.sampled_from(KEYS), value, max_size=8))
def test_checks_through_the_layout_are_the_flattened_ones(resource_type: str, data: dict[str, Any]) -> None:
    expected = _by_flatten(resource_type, data)
    for _ in range(2):  # the layout made, then taken from the cache
        got = [c for c in _resource_checks(resource_type, data) if c[0] == "value"]
        assert got == expected
        assert [type(c) for c in got] == [type(c) for c in expected]
