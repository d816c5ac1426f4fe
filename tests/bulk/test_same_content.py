"""recon.content.same_content (what bulk analyze asks of each value check) answers exactly as
``not changed_paths``: random values at the attributes analyze checks, and the second version
derived from the first by edits that keep or change the content (re-cased, reordered, blanked,
a JSON type changed, dateTimes in another offset) or drawn independently."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.content import changed_paths, content_rules, same_content
from tests.deltas.test_content_property import cases

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
RFC = content_rules()
NAMES = ("value", "Value", "type", "primary", "display", "givenName", "GIVENNAME", "$ref", "lastModified")
# where analyze checks a value: the nests recon.bulk.expect.value_met compares
PLACES = (
    ("userName",),
    ("externalId",),
    ("active",),
    ("title",),
    ("emails",),
    ("name", "givenName"),
    ("NAME", "familyName"),
    (ENT, "department"),
    (ENT.lower(), "employeeNumber"),
    (ENT, "manager"),
    (ENT, "manager", "value"),
    ("x509Certificates",),
    ("meta",),
    ("id",),
)
TIMES = ["2026-01-05T03:00:00Z", "2026-01-05T05:00:00+02:00"]
TEXT = st.sampled_from(["", "a", "A", "ab", "Ab", *TIMES, "bulkId:x"])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([1.0, 0.5, -0.0]), TEXT, st.text(max_size=3)
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(NAMES), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def edited(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with random edits, each of which may or may not change its content."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(values)  # independent
    if isinstance(value, str):
        return draw(st.sampled_from([value, value.swapcase(), value.upper(), "" if value else None, [value]]))
    if isinstance(value, bool):
        return draw(st.sampled_from([value, not value, int(value), str(value).lower()]))
    if isinstance(value, int | float):
        return draw(st.sampled_from([value, float(value), str(value), None]))
    if isinstance(value, list):
        items = [draw(edited(item)) for item in value]
        return draw(st.sampled_from([items, list(reversed(items)), items + items[:1], [], None]))
    if isinstance(value, dict):
        out = {draw(st.sampled_from([k, k.upper(), k.lower()])): draw(edited(v)) for k, v in value.items()}
        return draw(st.sampled_from([out, dict(reversed(out.items())), {}, None]))
    return draw(st.sampled_from([None, "", [], {}, value]))


def _nest(place: tuple[str, ...], value: Any) -> dict[str, Any]:
    for key in reversed(place):
        value = {key: value}
    return value


@st.composite
def pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], str]:
    place = draw(st.sampled_from(PLACES))
    base = draw(values)
    return _nest(place, base), _nest(place, draw(edited(base))), draw(st.sampled_from(["User", "Group"]))


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs())
def test_same_content_is_no_changed_path(pair: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    base, head, resource_type = pair
    expected = not changed_paths(base, head, resource_type, RFC)
    assert same_content(base, head, resource_type, RFC) is expected
    assert same_content(head, base, resource_type, RFC) is (not changed_paths(head, base, resource_type, RFC))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_same_content_of_whole_users(
    generated: list[tuple[dict[str, Any], dict[str, Any], str | None]],
) -> None:
    for base, head, changed in generated:
        assert same_content(base, head, "User", RFC) is (not changed_paths(base, head, "User", RFC))
        assert same_content(base, head, "User", RFC) is (changed is None)


def test_the_python_equality_changed_paths_asks_first_is_kept() -> None:
    # True == 1 in Python: changed_paths takes {"active": True} and {"active": 1} as the same
    # objects before comparing content; same_content answers alike
    assert not changed_paths({"active": True}, {"active": 1}, "User", RFC)
    assert same_content({"active": True}, {"active": 1}, "User", RFC)
    assert not same_content({"active": True}, {"active": "true"}, "User", RFC)
    assert same_content({"userName": "Ann"}, {"USERNAME": "ann"}, "User", RFC)
    assert not same_content({"externalId": "Ann"}, {"externalId": "ann"}, "User", RFC)
