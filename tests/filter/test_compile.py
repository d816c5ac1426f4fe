"""Given a small directory, each filter selects exactly the expected ids, in SQL and in Python."""

from __future__ import annotations

from typing import Any

import pytest

from recon.errors import FilterSyntaxError
from recon.scim.filter import DEFAULT_CATALOG, compile_groups_filter, compile_users_filter, matches, parse
from tests.filter.tables import Directory, E, group, user

X = "urn:example:ext:1.0:User"
USERS: list[dict[str, Any]] = [
    user(
        "u1",
        userName="BJensen@Example.com",
        active=True,
        title="Tour Guide",
        name={"givenName": "Barbara", "familyName": "Jensen"},
        emails=[
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        phoneNumbers=[{"value": "555-555-8377", "type": "work"}],
        meta={"lastModified": "2026-01-05T03:00:00Z", "version": 'W/"3"'},
        **{E: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "u2"}}},
    ),
    user(
        "u2",
        userName="jsmith",
        active=False,
        title="",
        emails=[{"value": "JSMITH@EXAMPLE.COM", "type": "work", "primary": False}],
        meta={"lastModified": "2026-01-05T04:00:00+02:00"},  # 02:00Z
        externalId="EXT-2",
        **{X: {"level": 3}},
    ),
    user("u3", userName="Ann", emails=[], nickName="annie", meta={"lastModified": "2026-01-05T02:00:00Z"}),
]
GROUPS = [
    group(
        "g1",
        displayName="Admins",
        members=[{"value": "u1", "type": "User"}, {"value": "g2", "type": "Group"}],
    ),
    group("g2", displayName="admins-emea", members=[{"value": "u2", "type": "User"}]),
    group("g3", displayName="Empty"),
]


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory(USERS + GROUPS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen@example.com"', ["u1"]),  # caseExact=false
        ('userName eq "JSMITH"', ["u2"]),
        ('userName ne "jsmith"', ["u1", "u3"]),
        ('userName sw "bj"', ["u1"]),
        ('userName ew ".COM"', ["u1"]),
        ('userName co "nn"', ["u3"]),
        ('userName gt "b"', ["u1", "u2"]),  # lexicographic on lower-cased values
        ("active eq true", ["u1"]),
        ("active eq false", ["u2"]),
        ("not (active eq false)", ["u1", "u3"]),  # an absent active is not false
        ("active pr", ["u1", "u2"]),
        ("title pr", ["u1"]),  # "" is unassigned
        ("title eq null", ["u2", "u3"]),
        ('title ne "tour guide"', ["u2", "u3"]),
        ('name.givenName eq "barbara"', ["u1"]),
        ("name pr", ["u1"]),
        ('emails co "example.com"', ["u1", "u2"]),  # emails compares emails.value
        ('emails.value eq "jsmith@example.com"', ["u2"]),
        ('emails[type eq "work" and primary eq true]', ["u1"]),
        ('emails[type eq "work" and primary eq false]', ["u2"]),
        ('emails[type eq "home" and primary eq true]', []),  # both on the same email
        ('emails[type eq "work"].value ew "example.com"', ["u1", "u2"]),
        ("emails pr", ["u1", "u2"]),
        ('emails.value ne "babs@jensen.org"', ["u2", "u3"]),
        ('phoneNumbers[type eq "work" and value sw "555"]', ["u1"]),  # read from raw
        ('nickName eq "ANNIE"', ["u3"]),
        ('meta.lastModified gt "2026-01-05T02:00:00Z"', ["u1"]),
        ('meta.lastModified ge "2026-01-05T02:00:00Z"', ["u1", "u2", "u3"]),
        ('meta.lastModified eq "2026-01-05T04:00:00+02:00"', ["u2", "u3"]),  # same instant
        ('meta.lastModified lt "2026-01-05T03:00:00.000001Z"', ["u1", "u2", "u3"]),
        ('meta.version eq "W/\\"3\\""', ["u1"]),
        ('meta.resourceType eq "User"', ["u1", "u2", "u3"]),
        ('externalId eq "ext-2"', []),  # externalId is caseExact
        ('externalId eq "EXT-2"', ["u2"]),
        ('id eq "U1"', []),
        (f'{E}:employeeNumber eq "701984"', ["u1"]),
        (f'{E}:department sw "tour"', ["u1"]),
        ('department sw "tour"', ["u1"]),  # unqualified extension attribute
        (f'{E}:manager.value eq "u2"', ["u1"]),
        (f"{X}:level gt 2", ["u2"]),
        (f'{X}:level eq "3"', []),  # a number is not a string
        ('userName eq "x" or (active eq true and title pr)', ["u1"]),
        ('not (userName sw "j" or userName sw "a")', ["u1"]),
    ],
)
def test_user_filters(directory: Directory, text: str, expected: list[str]) -> None:
    flt = parse(text)
    assert directory.ids(compile_users_filter(flt)) == expected
    assert [u["id"] for u in USERS if matches(flt, u)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('displayName eq "ADMINS"', ["g1"]),
        ('displayName sw "admins"', ["g1", "g2"]),
        ('members eq "u1"', ["g1"]),
        ('members[value eq "g2" and type eq "Group"]', ["g1"]),
        ('members.value eq "U1"', []),  # member ids are caseExact
        ("members pr", ["g1", "g2"]),
        ("not (members pr)", ["g3"]),
    ],
)
def test_group_filters(directory: Directory, text: str, expected: list[str]) -> None:
    flt = parse(text)
    assert directory.ids(compile_groups_filter(flt)) == expected
    assert [g["id"] for g in GROUPS if matches(flt, g)] == expected


def test_case_exactness_follows_the_servers_schemas(directory: Directory) -> None:
    flt = parse('userName eq "jSmith"')
    catalog = DEFAULT_CATALOG.with_advertised(
        {"urn:ietf:params:scim:schemas:core:2.0:User": {"userName": {"type": "string", "caseExact": True}}}
    )
    assert directory.ids(compile_users_filter(flt)) == ["u2"]
    assert directory.ids(compile_users_filter(flt, catalog)) == []
    assert not matches(flt, USERS[1], catalog=catalog)
    assert directory.ids(compile_users_filter(parse('userName eq "jsmith"'), catalog)) == ["u2"]


def test_values_are_bound_parameters_never_sql_text(directory: Directory) -> None:
    hostile = "x') OR TRUE OR ('"
    compiled = compile_users_filter(parse(f'userName eq "{hostile}" or nickName pr'))
    assert hostile not in compiled.predicate
    assert "nickName" not in compiled.predicate  # attribute names go in as JSON-path parameters
    assert hostile in compiled.params.values()
    assert directory.ids(compile_users_filter(parse(f'userName eq "{hostile}"'))) == []


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ('active eq "true"', 10, "active is boolean"),
        ("active gt true", 7, "gt is not defined for booleans"),
        ("userName eq 5", 12, "userName is string"),
        ("userName gt null", 9, "null can only be compared with eq or ne"),
        ("userName co 5", 9, "co compares strings"),
        ('meta.lastModified gt "yesterday"', 21, "is not a dateTime"),
        ('meta.lastModified co "2026"', 18, "co is not defined for the dateTime"),
        ('name eq "x"', 0, "name is a complex attribute"),
        ('userName.x eq "y"', 0, "userName is a simple attribute"),
        ('userName[value eq "y"]', 0, "userName is not multi-valued"),
        ('emails[emails.value eq "y"]', 7, "inside emails[...] name a sub-attribute"),
        ('addresses eq "x"', 0, "addresses has no 'value' sub-attribute"),
        ('emails[primary eq "yes"]', 18, "emails.primary is boolean"),
    ],
)
def test_meaningless_filters_are_refused_with_a_position(text: str, position: int, message: str) -> None:
    flt = parse(text)
    for run in (lambda: compile_users_filter(flt), lambda: matches(flt, USERS[0])):
        with pytest.raises(FilterSyntaxError) as caught:
            run()
        assert caught.value.position == position
        assert message in str(caught.value)
