"""Each export rule on a small hand-written export: the finding, and the equivalent non-finding beside it.

Every export holds resources that break the rule and resources that look alike but do not;
the findings must be exactly the expected set (kind, resource type, id, attribute).
"""

from __future__ import annotations

from recon.store import Store
from recon.validate import validate_export
from tests.validate.helpers import ENT, USER, Exports, found, group, user

ACME = "urn:acme:params:scim:schemas:extension:2.0:User"


def _check(
    store: Store, exports: Exports, resources: list[dict[str, object]]
) -> set[tuple[str, str, str, str]]:
    exports.add(resources)
    summary = validate_export(store, "app")
    return found(summary.findings_path)


def test_clean_export_has_no_findings(store: Store, exports: Exports) -> None:
    resources = [
        user(
            "u1",
            schemas=[USER, ENT],
            name={"givenName": "Ann", "familyName": "Lee"},
            emails=[
                {"value": "ann@example.com", "type": "work", "primary": True},
                {"value": "a@home.example"},
            ],
            phoneNumbers=[{"value": "+1 555", "type": "mobile"}],
            meta={
                "resourceType": "User",
                "created": "2025-01-01T10:00:00+02:00",
                "lastModified": "2025-01-02T00:00:00Z",
            },
            **{ENT: {"department": "R&D", "manager": {"value": "u2"}}},
        ),
        user("u2", password=None, nickName="", emails=[]),
        group("g1", members=[{"value": "u1", "type": "User"}, {"value": "g2", "type": "group"}]),
    ]
    assert _check(store, exports, resources) == set()


def test_password_in_an_export_is_a_critical_leak(store: Store, exports: Exports) -> None:
    resources = [user("leaks", password="hunter2"), user("null-password", password=None), user("none")]
    assert _check(store, exports, resources) == {("leaked_attribute", "User", "leaks", "password")}
    summary = validate_export(store, "app")
    assert summary.by_severity["critical"] == 1
    assert "hunter2" not in summary.findings_path.read_bytes().decode("latin-1")


def test_user_names_differing_only_by_case_collide(store: Store, exports: Exports) -> None:
    resources = [
        user("a", userName="Alice@Example.com"),
        user("b", userName="alice@example.com"),
        user("c", userName="bob@example.com"),
        user("d", userName="bob2@example.com"),
    ]
    assert _check(store, exports, resources) == {
        ("user_name_collision", "User", "a", "userName"),
        ("user_name_collision", "User", "b", "userName"),
    }


def test_case_exact_user_name_collides_only_when_identical(store: Store, exports: Exports) -> None:
    exports.declare(
        "app",
        [
            {
                "id": USER,
                "name": "User",
                "attributes": [
                    {"name": "userName", "type": "string", "caseExact": True},
                    {"name": "active", "type": "boolean"},
                ],
            }
        ],
        [],
    )
    resources = [
        user("a", userName="Alice@Example.com"),
        user("b", userName="alice@example.com"),
        user("c", userName="same@example.com"),
        user("d", userName="same@example.com"),
    ]
    assert _check(store, exports, resources) == {
        ("user_name_collision", "User", "c", "userName"),
        ("user_name_collision", "User", "d", "userName"),
    }


def test_required_attributes_absent_or_empty(store: Store, exports: Exports) -> None:
    absent = user("absent")
    del absent["userName"]
    resources = [
        absent,
        user("empty", userName=""),
        user("present"),
        group("g-absent", displayName=None),
        group("g-present"),
    ]
    assert _check(store, exports, resources) == {
        ("missing_required", "User", "absent", "userName"),
        ("missing_required", "User", "empty", "userName"),
        ("missing_required", "Group", "g-absent", "displayName"),
    }


def test_required_extension_from_resource_types(store: Store, exports: Exports) -> None:
    exports.declare(
        "app", [], [{"name": "User", "schema": USER, "schemaExtensions": [{"schema": ENT, "required": True}]}]
    )
    resources = [user("without"), user("with", schemas=[USER, ENT], **{ENT: {"department": "Ops"}})]
    assert _check(store, exports, resources) == {("missing_required", "User", "without", ENT)}


def test_json_types_against_declared_types(store: Store, exports: Exports) -> None:
    resources = [
        user("active-string", active="true"),
        user("active-bool", active=False),
        user("nick-array", nickName=["Al"]),
        user("nick-string", nickName="Al"),
        user("phones-object", phoneNumbers={"value": "+1 555"}),
        user("phones-array", phoneNumbers=[{"value": "+1 555"}]),
        user(
            "primary-mixed",
            emails=[{"value": "x@example.com", "primary": True}, {"value": "y@e.com", "primary": "false"}],
        ),
        user("created-date-only", meta={"created": "2025-01-01"}),
        user("created-offset", meta={"created": "2025-01-01T10:00:00.5+02:00"}),
    ]
    assert _check(store, exports, resources) == {
        ("type_mismatch", "User", "active-string", "active"),
        ("type_mismatch", "User", "nick-array", "nickName"),
        ("type_mismatch", "User", "phones-object", "phoneNumbers"),
        ("type_mismatch", "User", "primary-mixed", "emails.primary"),
        ("type_mismatch", "User", "created-date-only", "meta.created"),
    }


def test_datetimes_in_and_out_of_the_common_form(store: Store, exports: Exports) -> None:
    # recon import refuses unparseable meta dates, so a declared dateTime of an extension carries them
    valid = [
        "2025-06-01T08:00:00Z",
        "2024-02-29T00:00:00Z",
        "2025-01-31T23:59:59Z",
        "2025-01-10T10:00:00.25+02:00",
        "12025-01-10T10:00:00",
    ]
    invalid = [
        "2025-02-29T00:00:00Z",
        "2025-04-31T12:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-00-10T00:00:00Z",
        "2025-01-00T00:00:00Z",
        "2025-01-10T24:00:00Z",
        "2025-01-10T10:60:00Z",
        "2025-01-10 10:00:00Z",
        "2025-1-10T10:00:00Z",
        "x2025-01-10T10:00:00Z",
    ]
    exports.declare(
        "app",
        [{"id": ACME, "name": "Acme", "attributes": [{"name": "hireDate", "type": "dateTime"}]}],
        [{"name": "User", "schema": USER, "schemaExtensions": [{"schema": ACME, "required": False}]}],
    )
    resources = [
        user(f"{kind}{i}", schemas=[USER, ACME], **{ACME: {"hireDate": v}})
        for kind, values in (("ok", valid), ("bad", invalid))
        for i, v in enumerate(values)
    ]
    assert _check(store, exports, resources) == {
        ("type_mismatch", "User", f"bad{i}", f"{ACME}:hireDate") for i in range(len(invalid))
    }


def test_declared_datetime_integer_and_decimal_types(store: Store, exports: Exports) -> None:
    exports.declare(
        "app",
        [
            {
                "id": ACME,
                "name": "Acme",
                "attributes": [
                    {"name": "hireDate", "type": "dateTime"},
                    {"name": "level", "type": "integer"},
                    {"name": "ratio", "type": "decimal"},
                ],
            }
        ],
        [{"name": "User", "schema": USER, "schemaExtensions": [{"schema": ACME, "required": False}]}],
    )
    good = {"hireDate": "2024-02-29T00:00:00Z", "level": 3, "ratio": 2}
    bad = {"hireDate": "2025-02-29T00:00:00Z", "level": 1.5, "ratio": "0.5"}
    resources = [
        user("good", schemas=[USER, ACME], **{ACME: good}),
        user("bad", schemas=[USER, ACME], **{ACME: bad}),
    ]
    assert _check(store, exports, resources) == {
        ("type_mismatch", "User", "bad", f"{ACME}:hireDate"),
        ("type_mismatch", "User", "bad", f"{ACME}:level"),
        ("type_mismatch", "User", "bad", f"{ACME}:ratio"),
    }


def test_more_than_one_primary(store: Store, exports: Exports) -> None:
    two = [{"value": "a@example.com", "primary": True}, {"value": "b@example.com", "primary": True}]
    one = [{"value": "a@example.com", "primary": True}, {"value": "b@example.com", "primary": False}]
    phones = [{"value": "+1", "primary": True}, {"value": "+2", "primary": True}]
    resources = [user("two", emails=two), user("one", emails=one), user("phones", phoneNumbers=phones)]
    assert _check(store, exports, resources) == {
        ("multiple_primary", "User", "two", "emails"),
        ("multiple_primary", "User", "phones", "phoneNumbers"),
    }


def test_canonical_values_compare_case_insensitively(store: Store, exports: Exports) -> None:
    resources = [
        user("odd", emails=[{"value": "a@example.com", "type": "Work2"}]),
        user("cased", emails=[{"value": "a@example.com", "type": "Work"}]),
        group("robot", members=[{"value": "odd", "type": "Robot"}]),
        group("lower", members=[{"value": "odd", "type": "user"}]),
    ]
    assert _check(store, exports, resources) == {
        ("non_canonical_value", "User", "odd", "emails.type"),
        ("non_canonical_value", "Group", "robot", "members.type"),
    }


def test_attributes_the_schemas_do_not_declare(store: Store, exports: Exports) -> None:
    resources = [
        user("badge", schemas=[USER, ENT], **{ENT: {"badgeNumber": "B1"}}),
        user("department", schemas=[USER, ENT], **{ENT: {"department": "Ops"}}),
        user("foo", foo="bar"),
        user("nick", nickName="Al"),
        user("verified", emails=[{"value": "a@example.com", "verified": True}]),
        user("display", emails=[{"value": "a@example.com", "display": "A"}]),
        user("null-foo", foo=None),
    ]
    findings = _check(store, exports, resources)
    assert findings == {
        ("undeclared_attribute", "User", "badge", f"{ENT}:badgeNumber"),
        ("undeclared_attribute", "User", "foo", "foo"),
        ("undeclared_attribute", "User", "verified", "emails.verified"),
    }
    summary = validate_export(store, "app")
    assert summary.by_severity == {"critical": 0, "high": 0, "medium": 1, "low": 2}


def test_schemas_the_resource_type_does_not_declare(store: Store, exports: Exports) -> None:
    resources = [
        user("block", schemas=[USER, ACME], **{ACME: {"x": 1}}),
        user("listed", schemas=[USER, ACME]),
        user("plain"),
    ]
    assert _check(store, exports, resources) == {
        ("undeclared_schema", "User", "block", ACME),
        ("undeclared_schema", "User", "listed", ACME),
    }


def test_a_declared_custom_extension_is_not_a_finding(store: Store, exports: Exports) -> None:
    exports.declare(
        "app",
        [{"id": ACME, "name": "Acme", "attributes": [{"name": "x", "type": "integer"}]}],
        [{"name": "User", "schema": USER, "schemaExtensions": [{"schema": ACME, "required": False}]}],
    )
    resources = [user("block", schemas=[USER, ACME], **{ACME: {"x": 1}}), user("plain")]
    assert _check(store, exports, resources) == set()


def test_schemas_urns_against_the_blocks_present(store: Store, exports: Exports) -> None:
    resources = [
        user("unlisted", **{ENT: {"department": "Ops"}}),
        user("listed", schemas=[USER, ENT], **{ENT: {"department": "Ops"}}),
        user("no-block", schemas=[USER, ENT]),
        user("empty-block", schemas=[USER], **{ENT: {}}),
        user("no-core", schemas=[ENT], meta={"resourceType": "User"}, **{ENT: {"department": "Ops"}}),
    ]
    assert _check(store, exports, resources) == {
        ("schema_urn_missing", "User", "unlisted", ENT),
        ("schema_urn_without_block", "User", "no-block", ENT),
        ("schema_urn_missing", "User", "no-core", USER),
    }


def test_attribute_names_in_another_case(store: Store, exports: Exports) -> None:
    renamed = user("renamed", UserName="renamed@example.com")
    del renamed["userName"]
    assert _check(store, exports, [renamed, user("plain")]) == {
        ("attribute_name_case", "User", "renamed", "UserName")
    }


def test_summary_counts_thresholds_and_census(store: Store, exports: Exports) -> None:
    from recon.config import parse_config

    exports.add([user("a", password="x"), user("b", foo=1), user("c")])
    config = parse_config(
        {"thresholds": {"leaked_attribute": 0, "undeclared_attribute": 5, "orphaned_in_target": 0}}
    )
    summary = validate_export(store, "app", "c1", config)
    assert summary.resources == {"User": 3, "Group": 0}
    assert summary.total == 2
    assert dict(summary.by_kind) == {"leaked_attribute": 1, "undeclared_attribute": 1}
    assert [(t.kind, t.count, t.exceeded) for t in summary.thresholds] == [
        ("leaked_attribute", 1, True),
        ("undeclared_attribute", 1, False),
    ]
    assert summary.census["User"]["userName"] == 3
    assert summary.census["User"]["password"] == 1
    assert summary.summary_path.is_file()


def test_an_export_with_only_groups(store: Store, exports: Exports) -> None:
    assert _check(store, exports, [group("g1"), group("g2", displayName="")]) == {
        ("missing_required", "Group", "g2", "displayName")
    }
    summary = validate_export(store, "app")
    assert summary.resources == {"User": 0, "Group": 2}


def test_server_declared_element_checks(store: Store, exports: Exports) -> None:
    exports.declare(
        "app",
        [
            {
                "id": USER,
                "name": "User",
                "attributes": [
                    {"name": "userName", "type": "string", "required": True},
                    {"name": "active", "type": "boolean"},
                    {
                        "name": "emails",
                        "type": "complex",
                        "multiValued": True,
                        "subAttributes": [
                            {"name": "value", "type": "string", "required": True},
                            {
                                "name": "display",
                                "type": "string",
                                "canonicalValues": ["Work", "Home"],
                                "caseExact": True,
                            },
                        ],
                    },
                ],
            },
            {
                "id": ACME,
                "name": "Acme",
                "attributes": [
                    {
                        "name": "tags",
                        "type": "string",
                        "multiValued": True,
                        "canonicalValues": ["red", "blue"],
                    },
                    {"name": "reviews", "type": "dateTime", "multiValued": True},
                ],
            },
        ],
        [{"name": "User", "schema": USER, "schemaExtensions": [{"schema": ACME, "required": False}]}],
    )
    resources = [
        user("no-value", emails=[{"value": "a@example.com"}, {"display": "Work"}]),
        user("bad-display", emails=[{"value": "a@example.com", "display": "work"}]),
        user("good-emails", emails=[{"value": "a@example.com", "display": "Work"}]),
        user(
            "bad-tags", schemas=[USER, ACME], **{ACME: {"tags": ["red", "Green"], "reviews": ["2025-01-01"]}}
        ),
        user(
            "good-tags",
            schemas=[USER, ACME],
            **{ACME: {"tags": ["RED"], "reviews": ["2025-01-01T00:00:00Z"]}},
        ),
    ]
    assert _check(store, exports, resources) == {
        ("missing_required", "User", "no-value", "emails.value"),
        ("non_canonical_value", "User", "bad-display", "emails.display"),
        ("non_canonical_value", "User", "bad-tags", f"{ACME}:tags"),
        ("type_mismatch", "User", "bad-tags", f"{ACME}:reviews"),
    }
