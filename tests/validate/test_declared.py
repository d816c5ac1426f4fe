"""RFC 7643 built-in schemas as data, a server's /Schemas over them, and the value checks derived."""

from __future__ import annotations

from recon.capabilities import Capabilities
from recon.validate.declared import attributes_table, declared_for, json_path, schemas_table
from recon.validate.rfc7643 import parse_resource_type, parse_schema
from recon.validate.specs import CHECK_BITS, value_checks

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACME = "urn:acme:2.0:User"


def _characteristics(
    resource_type: str, path: str, capabilities: Capabilities | None = None
) -> dict[str, object]:
    found = declared_for(capabilities).attribute(resource_type, path)
    assert found is not None, path
    a = found.attribute
    return {
        "type": a.type,
        "multi": a.multi_valued,
        "caseExact": a.case_exact,
        "mutability": a.mutability,
        "returned": a.returned,
        "required": a.required,
        "canonical": a.canonical_values,
    }


def test_builtin_characteristics_follow_rfc_7643() -> None:
    # RFC 7643 §4.1 / §8.7.1
    assert _characteristics("User", "userName")["required"] is True
    assert _characteristics("User", "userName")["caseExact"] is False
    assert _characteristics("User", "password") == {
        "type": "string",
        "multi": False,
        "caseExact": False,
        "mutability": "writeOnly",
        "returned": "never",
        "required": False,
        "canonical": (),
    }
    assert _characteristics("User", "emails.type")["canonical"] == ("work", "home", "other")
    assert _characteristics("User", "phoneNumbers.type")["canonical"] == (
        "work",
        "home",
        "mobile",
        "fax",
        "pager",
        "other",
    )
    assert _characteristics("User", "x509Certificates.value")["type"] == "binary"
    assert _characteristics("User", "groups")["mutability"] == "readOnly"
    assert _characteristics("User", "meta.lastModified")["type"] == "dateTime"
    assert _characteristics("User", "id")["caseExact"] is True
    assert _characteristics("User", f"{ENT}:manager.value")["type"] == "string"
    # RFC 7643 §4.2: displayName is REQUIRED; members.type is "User" or "Group"
    assert _characteristics("Group", "displayName")["required"] is True
    assert _characteristics("Group", "members.type")["canonical"] == ("User", "Group")
    assert declared_for(None).attribute("Group", "userName") is None
    assert declared_for(None).source == "rfc7643"


def test_a_served_schema_replaces_the_builtin_one() -> None:
    served = {
        "id": CORE,
        "name": "User",
        "attributes": [
            {"name": "userName", "type": "string", "caseExact": True, "required": True},
            {
                "name": "emails",
                "type": "complex",
                "multiValued": True,
                "subAttributes": [
                    {"name": "value", "type": "string", "required": True},
                    {"name": "type", "type": "string", "canonicalValues": ["work", "corp"]},
                ],
            },
            {"name": "odd", "type": "sometype"},
            {"type": "string"},
        ],
    }
    capabilities = Capabilities("app", advertised={"schemas": [served]}, discovered_at="2026-01-02T03:04:05Z")
    declared = declared_for(capabilities)
    assert declared.user_name_case_exact() is True
    assert declared.attribute("User", "nickName") is None  # not served any more
    assert declared.attribute("User", "id") is not None  # common attributes stay declared
    assert _characteristics("User", "emails.type", capabilities)["canonical"] == ("work", "corp")
    assert _characteristics("User", "odd", capabilities)["type"] == "string"
    assert declared.attribute("User", f"{ENT}:department") is not None  # built-in extension kept
    assert declared.source == "server /Schemas (discovered 2026-01-02T03:04:05Z)"


def test_resource_types_say_which_extensions_a_user_carries() -> None:
    acme = {"id": ACME, "name": "Acme", "attributes": [{"name": "level", "type": "integer"}]}
    typed = Capabilities(
        "app",
        advertised={
            "schemas": [acme],
            "resource_types": [
                {"name": "User", "schema": CORE, "schemaExtensions": [{"schema": ACME, "required": True}]}
            ],
        },
    )
    declared = declared_for(typed)
    assert dict(declared.extensions("User")) == {ACME: True}
    assert declared.attribute("User", f"{ENT}:department") is None
    assert declared.attribute("User", f"{ACME}:level") is not None
    untyped = declared_for(Capabilities("app", advertised={"schemas": [acme]}))
    assert dict(untyped.extensions("User")) == {ENT: False, ACME: False}
    assert dict(untyped.extensions("Group")) == {ACME: False}
    rows = schemas_table(declared).to_pylist()
    assert [(r["resource_type"], r["schema"], r["role"], r["required"]) for r in rows] == [
        ("User", CORE, "core", True),
        ("User", ACME, "extension", True),
        ("Group", GROUP, "core", True),
    ]


def test_parsing_schema_and_resource_type_resources() -> None:
    assert parse_schema({"name": "no id"}) is None
    parsed = parse_schema(
        {
            "id": ACME,
            "attributes": [
                {
                    "name": "c",
                    "type": "complex",
                    "subAttributes": [
                        {"name": "s", "type": "complex", "subAttributes": [{"name": "deeper"}]}
                    ],
                }
            ],
        }
    )
    assert parsed is not None and parsed.name == ACME
    assert parsed.attributes[0].sub_attributes[0].sub_attributes == ()
    assert parse_resource_type({"schema": CORE}) is None
    rt = parse_resource_type({"id": "User", "schema": CORE, "schemaExtensions": [{"schema": ENT}]})
    assert rt is not None and rt.name == "User" and dict(rt.extensions) == {ENT: False}


def test_attribute_table_paths_and_json_paths() -> None:
    rows = {(r["resource_type"], r["path"]): r for r in attributes_table(declared_for(None)).to_pylist()}
    assert rows[("User", "emails.value")]["parent_key"] == "emails"
    assert rows[("User", "emails.value")]["in_multi"] is True
    assert rows[("User", f"{ENT}:manager.value")]["parent_key"] == f"{ENT}:manager".lower()
    assert rows[("User", f"{ENT}:department")]["parent_key"] == ENT.lower()
    assert json_path("name.givenName", None) == '$."name"."givenName"'
    assert json_path(f"{ENT}:manager.value", ENT) == f'$."{ENT}"."manager"."value"'
    assert json_path("groups.$ref", None) == '$."groups"."$ref"'


def test_value_check_parameters_line_up_per_resource_type() -> None:
    checks = value_checks(declared_for(None))
    params = checks.params()
    paths = params["paths"]
    n = len(paths)
    assert paths == ['$."schemas"', *checks.single_paths, *checks.multi_paths]
    assert params["singles"] == len(checks.single_paths)
    assert [len(bits) for bits in params["checks"]] == [n, n]
    assert all(len(params[k]) == 2 * n for k in ("allowed", "case_exact"))
    user_name, display_name = paths.index('$."userName"'), paths.index('$."displayName"')
    created, emails, members = (
        paths.index('$."meta"."created"'),
        paths.index('$."emails"'),
        paths.index('$."members"'),
    )
    user, group = params["checks"]
    assert user[0] == group[0] == 0  # schemas: read for its URNs, no value check
    assert user[user_name] == CHECK_BITS["nonempty"]  # User userName is required
    assert group[display_name] == CHECK_BITS["nonempty"]  # Group displayName is required
    assert user[display_name] == 0  # User displayName is not
    assert user[created] == group[created] == CHECK_BITS["datetime"]
    assert user[emails] == CHECK_BITS["primary"] | CHECK_BITS["type"]
    assert group[members] == CHECK_BITS["type"]  # members have no primary
    assert params["allowed"][n + members] == ["Group", "User", "group", "user"]  # caseExact false
    assert params["allowed"][user_name] == [""]  # no canonical values: a placeholder, never read
    assert params["allowed"][emails] == ["home", "other", "work"]


def test_a_server_redeclaring_common_attributes_declares_them_once() -> None:
    served = {
        "id": CORE,
        "attributes": [
            {"name": "id", "type": "string", "caseExact": False},
            {"name": "userName", "type": "string", "required": True},
            {"name": "UserName", "type": "string"},
        ],
    }
    rows = attributes_table(declared_for(Capabilities("app", advertised={"schemas": [served]}))).to_pylist()
    user_rows = [r["path"] for r in rows if r["resource_type"] == "User"]
    assert user_rows.count("id") == 1 and [p for p in user_rows if p.lower() == "username"] == ["userName"]
    ids = [r for r in rows if r["resource_type"] == "User" and r["path"] == "id"]
    assert ids[0]["case_exact"] is True  # the common definition (RFC 7643 §3.1), not the re-declaration
