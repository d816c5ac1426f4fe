"""Property tests: the parser only ever raises FilterSyntaxError, and the compiled SQL
selects exactly the resources the Python evaluator accepts, on random directories."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.errors import FilterSyntaxError
from recon.scim.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
    compile_filter,
    matches,
    parse,
    to_text,
)
from tests.filter.tables import Directory, E, group, user

# Strings that collide under case folding, prefixes and suffixes, plus the empty string.
WORDS = [
    "alice",
    "Alice",
    "ALICE",
    "ali",
    "bob",
    "Bob",
    "x@y.com",
    "X@Y.COM",
    "work",
    "home",
    "",
    "İstanbul",
    "ß",
]
TIMES = [
    "2026-01-05T02:00:00Z",
    "2026-01-05T04:00:00+02:00",
    "2026-01-05T02:00:00.5Z",
    "2026-01-06T00:00:00Z",
]
NUMBERS = [0, 1, 2, -1, 1.5, 10]

words = st.sampled_from(WORDS)
maybe = st.one_of(st.none(), words)


@st.composite
def emails(draw: st.DrawFn) -> list[dict[str, Any]]:
    items = draw(
        st.lists(
            st.fixed_dictionaries(
                {"value": words},
                optional={"type": st.sampled_from(["work", "home", "Work"]), "primary": st.booleans()},
            ),
            max_size=3,
        )
    )
    return items


loose = st.one_of(st.none(), words, st.sampled_from(NUMBERS), st.booleans())


@st.composite
def users(draw: st.DrawFn, uid: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for key, strategy in (
        ("userName", maybe),
        ("active", st.one_of(st.none(), st.booleans())),
        ("title", maybe),
        ("nickName", maybe),
        ("externalId", maybe),
        ("emails", emails()),
        (
            "name",
            st.fixed_dictionaries(
                {}, optional={"givenName": maybe, "familyName": maybe, "middleName": maybe}
            ),
        ),
        ("meta", st.fixed_dictionaries({}, optional={"lastModified": st.sampled_from(TIMES)})),
        (
            "phoneNumbers",
            st.lists(st.fixed_dictionaries({"value": words}, optional={"type": words}), max_size=2),
        ),
        (
            "tags",
            st.one_of(
                loose,
                st.lists(loose, max_size=3),
                st.lists(st.fixed_dictionaries({"value": loose}), max_size=2),
            ),
        ),
        (
            E,
            st.fixed_dictionaries(
                {}, optional={"department": maybe, "manager": st.fixed_dictionaries({"value": words})}
            ),
        ),
        ("urn:example:ext:1.0:User", st.fixed_dictionaries({}, optional={"level": loose})),
    ):
        if draw(st.booleans()):
            attrs[key] = draw(strategy)
    return user(uid, **attrs)


@st.composite
def groups(draw: st.DrawFn, gid: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {"displayName": draw(maybe)}
    members = draw(st.lists(st.sampled_from(["u0", "u1", "u2", "g0"]), unique=True, max_size=3))
    attrs["members"] = [{"value": m, "type": "Group" if m.startswith("g") else "User"} for m in members]
    return group(gid, **attrs)


S, B, T, A = "string", "boolean", "datetime", "any"
USER_PATHS = [
    (AttrPath(None, "userName"), S),
    (AttrPath(None, "USERNAME"), S),
    (AttrPath(None, "active"), B),
    (AttrPath(None, "title"), S),
    (AttrPath(None, "nickName"), S),
    (AttrPath(None, "externalId"), S),
    (AttrPath(None, "id"), S),
    (AttrPath(None, "emails"), S),
    (AttrPath(None, "emails", "value"), S),
    (AttrPath(None, "emails", "type"), S),
    (AttrPath(None, "emails", "primary"), B),
    (AttrPath(None, "emails", "display"), S),
    (AttrPath(None, "name", "givenName"), S),
    (AttrPath(None, "name", "middleName"), S),
    (AttrPath(None, "name"), A),
    (AttrPath(None, "meta", "lastModified"), T),
    (AttrPath(None, "meta", "resourceType"), S),
    (AttrPath(None, "phoneNumbers"), S),
    (AttrPath(None, "phoneNumbers", "type"), S),
    (AttrPath(None, "tags"), A),
    (AttrPath(E, "department"), S),
    (AttrPath(None, "department"), S),
    (AttrPath(E, "manager", "value"), S),
    (AttrPath("urn:example:ext:1.0:User", "level"), A),
]
GROUP_PATHS = [
    (AttrPath(None, "displayName"), S),
    (AttrPath(None, "members"), S),
    (AttrPath(None, "members", "value"), S),
    (AttrPath(None, "members", "type"), S),
    (AttrPath(None, "id"), S),
]
INNER_PATHS = [
    (AttrPath(None, n), k)
    for n, k in (("value", S), ("type", S), ("primary", B), ("display", S), ("Value", S))
]
MEMBER_WORDS = ["u0", "U0", "u1", "g0", "User", "user", "Group"]
any_value = st.one_of(words, st.sampled_from(TIMES), st.sampled_from(NUMBERS), st.booleans(), st.none())
typed_values = {
    S: st.one_of(words, st.sampled_from(MEMBER_WORDS)),
    B: st.booleans(),
    T: st.sampled_from(TIMES),
    A: st.one_of(words, st.sampled_from(NUMBERS), st.booleans()),
}
string_ops = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
ops_for = {
    S: string_ops,
    B: st.sampled_from(["eq", "ne"]),
    T: st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]),
}
ops_for[A] = st.sampled_from(["eq", "ne", "gt", "lt"])


@st.composite
def leaf(draw: st.DrawFn, paths: list[tuple[AttrPath, str]]) -> Node:
    path, kind = draw(st.sampled_from(paths))
    if draw(st.integers(0, 5)) == 0:
        return Present(path)
    if draw(st.integers(0, 7)) == 0:  # anything goes: mostly refused as ill-typed
        return Compare(path, draw(string_ops), draw(any_value))
    if draw(st.integers(0, 9)) == 0:
        return Compare(path, draw(st.sampled_from(["eq", "ne"])), None)
    return Compare(path, draw(ops_for[kind]), draw(typed_values[kind]))


def combine(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(lambda t: And(tuple(t)), st.lists(children, min_size=2, max_size=3)),
        st.builds(lambda t: Or(tuple(t)), st.lists(children, min_size=2, max_size=3)),
        st.builds(Not, children),
    )


def filters(resource_type: str) -> st.SearchStrategy[Node]:
    paths = USER_PATHS if resource_type == "User" else GROUP_PATHS
    inner = st.recursive(leaf(INNER_PATHS), combine, max_leaves=3)
    multi = ["emails", "phoneNumbers", "tags"] if resource_type == "User" else ["members"]
    value_paths = st.builds(ValuePath, st.builds(AttrPath, st.none(), st.sampled_from(multi)), inner)
    return st.recursive(st.one_of(leaf(paths), value_paths), combine, max_leaves=4)


@st.composite
def directories(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=1, max_value=6))
    resources = [draw(users(f"u{i}")) for i in range(count)]
    resources += [draw(groups(f"g{i}")) for i in range(draw(st.integers(min_value=0, max_value=3)))]
    return resources


def _agree(resources: list[dict[str, Any]], nodes: list[Node], resource_type: str) -> None:
    directory = Directory(resources)
    for node in nodes:
        _agree_one(directory, resources, node, resource_type)


def _agree_one(directory: Directory, resources: list[dict[str, Any]], node: Node, resource_type: str) -> None:
    text = to_text(node)
    flt = parse(text)
    assert flt.root == node, text  # rendering and parsing round-trip
    of_type = [r for r in resources if (r["id"].startswith("g")) == (resource_type == "Group")]
    try:
        compiled = compile_filter(flt, resource_type)
    except FilterSyntaxError as error:
        for resource in of_type:
            try:
                matches(flt, resource, resource_type)
            except FilterSyntaxError as again:
                assert (str(again), again.position) == (str(error), error.position)
            else:
                raise AssertionError(f"evaluator accepted {text!r} that the compiler refused: {error}")
        return
    expected = sorted(r["id"] for r in of_type if matches(flt, r, resource_type))
    assert directory.ids(compiled) == expected, (text, compiled.predicate, compiled.params)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(directories(), st.lists(filters("User"), min_size=8, max_size=8))
def test_sql_agrees_with_python_on_users(resources: list[dict[str, Any]], nodes: list[Node]) -> None:
    _agree(resources, nodes, "User")


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(directories(), st.lists(filters("Group"), min_size=8, max_size=8))
def test_sql_agrees_with_python_on_groups(resources: list[dict[str, Any]], nodes: list[Node]) -> None:
    _agree(resources, nodes, "Group")


ALPHABET = st.sampled_from(list('abcENOTandorteqpr ()[]."\\:$-_0123456789urn\u00e9\x00\t{}'))


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.text(), st.text(ALPHABET, max_size=40)))
def test_parser_raises_only_filter_syntax_errors(text: str) -> None:
    try:
        flt = parse(text)
    except FilterSyntaxError as error:
        assert 0 <= error.position <= len(text)
        assert error.filter_text == text
        return
    assert isinstance(flt, Filter)
    assert parse(to_text(flt.root)).root == flt.root
    for resource_type in ("User", "Group"):
        try:
            compile_filter(flt, resource_type)
        except FilterSyntaxError as error:
            assert 0 <= error.position <= len(text)


@settings(max_examples=150, deadline=None)
@given(filters("User"))
def test_generated_filters_parse_the_same_in_scim2_models(node: Node) -> None:
    """The reference parser of the scim2-server fixture accepts what we render."""
    from scim2_models.path.grammar import _parse_filter

    _parse_filter(to_text(node))
