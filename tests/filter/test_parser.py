from __future__ import annotations

import pytest

from recon.errors import FilterSyntaxError
from recon.scim.filter import And, AttrPath, Compare, Not, Or, Present, ValuePath, parse, to_text

E = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def p(attr: str, sub: str | None = None, uri: str | None = None) -> AttrPath:
    return AttrPath(uri, attr, sub)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('userName eq "bjensen"', Compare(p("userName"), "eq", "bjensen")),
        ('userName EQ "x"', Compare(p("userName"), "eq", "x")),
        ('name.familyName co "O\'Malley"', Compare(p("name", "familyName"), "co", "O'Malley")),
        ('userName sw "J"', Compare(p("userName"), "sw", "J")),
        ("title pr", Present(p("title"))),
        ("title PR", Present(p("title"))),
        (
            'meta.lastModified gt "2011-05-13T04:42:34Z"',
            Compare(p("meta", "lastModified"), "gt", "2011-05-13T04:42:34Z"),
        ),
        ("active eq True", Compare(p("active"), "eq", True)),
        ("active eq false", Compare(p("active"), "eq", False)),
        ("title eq null", Compare(p("title"), "eq", None)),
        ("x ge -1.5e2", Compare(p("x"), "ge", -150.0)),
        ("x le 10", Compare(p("x"), "le", 10)),
        ('x eq "a\\"b\\u00e9\\n"', Compare(p("x"), "eq", 'a"bé\n')),
        (
            f'{E}:employeeNumber eq "701984"',
            Compare(p("employeeNumber", uri=E), "eq", "701984"),
        ),
        (f'{E}:manager.value eq "26118915"', Compare(p("manager", "value", uri=E), "eq", "26118915")),
        (
            'title pr and userType eq "Employee"',
            And((Present(p("title")), Compare(p("userType"), "eq", "Employee"))),
        ),
        (
            "a eq 1 or b eq 2 and c eq 3",  # and binds tighter than or
            Or((Compare(p("a"), "eq", 1), And((Compare(p("b"), "eq", 2), Compare(p("c"), "eq", 3))))),
        ),
        (
            "(a eq 1 or b eq 2) and c eq 3",
            And((Or((Compare(p("a"), "eq", 1), Compare(p("b"), "eq", 2))), Compare(p("c"), "eq", 3))),
        ),
        ("not (a pr) and b pr", And((Not(Present(p("a"))), Present(p("b"))))),
        ("NOT(a pr)", Not(Present(p("a")))),
        ("not pr", Present(p("not"))),  # 'not' without '(' is an attribute name
        (
            'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp"]',
            Or(
                (
                    ValuePath(
                        p("emails"),
                        And((Compare(p("type"), "eq", "work"), Compare(p("value"), "co", "@example.com"))),
                    ),
                    ValuePath(p("ims"), Compare(p("type"), "eq", "xmpp")),
                )
            ),
        ),
        (
            'emails[type eq "work"].value eq "x"',
            ValuePath(p("emails"), And((Compare(p("type"), "eq", "work"), Compare(p("value"), "eq", "x")))),
        ),
        ('emails[not (type eq "work")]', ValuePath(p("emails"), Not(Compare(p("type"), "eq", "work")))),
        ("members[$ref pr]", ValuePath(p("members"), Present(p("$ref")))),
    ],
)
def test_parses_rfc_filters(text: str, tree: object) -> None:
    flt = parse(text)
    assert flt.root == tree
    assert parse(to_text(flt.root)).root == tree


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "empty filter"),
        ("   ", 0, "empty filter"),
        ("userName", 8, "expected an operator"),
        ('userName xx "a"', 9, "expected an operator"),
        ("userName eq", 11, "expected a value"),
        ("userName eq bjensen", 12, "expected a value"),
        ('userName eq "bjensen', 12, "unterminated string"),
        ('userName eq "a\\qb"', 14, "invalid escape"),
        ('userName eq "a" and', 19, "expected an attribute path"),
        ('userName eq "a" userName eq "b"', 16, "expected 'and', 'or'"),
        ('(userName eq "a"', 16, "expected ')'"),
        ('userName eq "a")', 15, "expected 'and', 'or'"),
        ("not (a pr", 9, "expected ')' to close 'not ('"),
        ('emails[type eq "work"', 21, "expected ']'"),
        ("emails[type[value pr]]", 11, "cannot contain another"),
        ("emails.value[type pr]", 0, "applies to an attribute"),
        ('a.b.c eq "x"', 0, "at most one sub-attribute"),
        ('1abc eq "x"', 0, "invalid number"),
        ("x eq 01", 5, "invalid number"),
        ("x eq 1e999", 5, "number out of range"),
        ('userName eq "a" & b pr', 16, "unexpected character '&'"),
        ('foo:bar eq "x"', 0, "schema prefix starts with 'urn:'"),
        ('x eq "\\ud800"', 5, "surrogate"),
        ('and eq "x"', 0, "expected an attribute path"),
        ("(" * 60 + "a pr" + ")" * 60, 48, "nests deeper"),
    ],
)
def test_invalid_filters_point_at_the_problem(text: str, position: int, message: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse(text)
    assert caught.value.position == position
    assert message in str(caught.value)
    assert caught.value.filter_text == text
    assert f"at position {position}" in str(caught.value)


def test_spacing_does_not_change_the_tree() -> None:
    assert parse('  userName   eq  "a"and(title pr)').root == parse('userName eq "a" and title pr').root
