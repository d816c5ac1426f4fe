"""SCIM attribute paths of the config -> how each side is read, and the case rule."""

from __future__ import annotations

import pytest

from recon.attributes import ENTERPRISE_USER, group_attribute, user_attribute
from recon.errors import ConfigError

E = ENTERPRISE_USER


@pytest.mark.parametrize(
    ("path", "extraction", "column", "json_path", "case_exact", "multi"),
    [
        ("userName", "column", "user_name", None, False, False),
        ("username", "column", "user_name", None, False, False),
        ("externalId", "column", "external_id", None, True, False),
        ("id", "column", "id", None, True, False),
        ("name.givenName", "column", "given_name", None, False, False),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
            "column",
            "family_name",
            None,
            False,
            False,
        ),
        ("emails[primary]", "column", "primary_email", None, False, False),
        ('emails[type eq "work"].value', "emails", None, None, False, True),
        ("emails", "emails", None, None, False, True),
        ("department", "column", "department", None, False, False),
        (f"{E}:department", "column", "department", None, False, False),
        (f"{E}:employeeNumber", "column", "employee_number", None, False, False),
        (f"{E}:costCenter", "json_value", None, f'$."{E}".costCenter', False, False),
        ("costCenter", "json_value", None, f'$."{E}".costCenter', False, False),
        (f"{E}:manager", "manager", "manager_id", None, True, False),
        ("manager.displayName", "json_value", None, f'$."{E}".manager.displayName', False, False),
        ("nickName", "json_value", None, "$.nickName", False, False),
        ("name.formatted", "json_value", None, "$.name.formatted", False, False),
        (
            "urn:acme:ext:1.0:User:badge.code",
            "json_value",
            None,
            '$."urn:acme:ext:1.0:User".badge.code',
            False,
            False,
        ),
        ('phoneNumbers[type eq "work"].value', "json_multi", None, "$.phoneNumbers", False, True),
        ("meta.lastModified", "column", "last_modified", None, False, False),
        ("meta.version", "column", "version", None, True, False),
    ],
)
def test_user_paths(
    path: str, extraction: str, column: str | None, json_path: str | None, case_exact: bool, multi: bool
) -> None:
    spec = user_attribute(path)
    assert (
        spec.path,
        spec.extraction,
        spec.column_name,
        spec.json_path,
        spec.case_exact,
        spec.multi_valued,
    ) == (
        path,
        extraction,
        column,
        json_path,
        case_exact,
        multi,
    )


def test_filters_become_data_not_sql() -> None:
    spec = user_attribute('emails[type eq "Work"].value')
    assert (spec.filter_attr, spec.filter_value) == ("type", "Work")
    phones = user_attribute("phoneNumbers[primary eq true].value")
    assert (phones.filter_path, phones.filter_value, phones.value_path) == ("$.primary", "true", "$.value")
    quoted = user_attribute('x509Certificates[type eq "a\'; DROP TABLE x; --"].value')
    assert quoted.filter_value == "a'; DROP TABLE x; --"


@pytest.mark.parametrize(
    "path", ["", "emails[type gt 1]", 'title[type eq "x"]', "urn:x", "1abc", "name.givenName.x", 'a"b']
)
def test_bad_paths_are_config_errors(path: str) -> None:
    with pytest.raises(ConfigError):
        user_attribute(path)


def test_group_paths() -> None:
    assert group_attribute("displayName").column_name == "display_name"
    assert group_attribute("externalId").case_exact
    assert group_attribute("urn:acme:ext:1.0:Group:code").json_path == '$."urn:acme:ext:1.0:Group".code'
    with pytest.raises(ConfigError):
        group_attribute("members")
