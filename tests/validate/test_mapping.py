"""``validate_mapping``: the reconcile mapping of a pair against both systems' schemas and exports."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from recon.config import parse_config
from recon.errors import ConfigError
from recon.store import Store
from recon.validate import read_summary, validate_mapping
from recon.validate.mapping import attribute_path
from tests.validate.helpers import ENT, USER, Exports, user

ACME = "urn:acme:params:scim:schemas:extension:2.0:User"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("userName", "userName"),
        ("emails[primary]", "emails.value"),
        ('emails[type eq "work"].value', "emails.value"),
        ('phoneNumbers[type eq "work"].display', "phoneNumbers.display"),
        ("name.givenName", "name.givenName"),
        ("department", f"{ENT}:department"),
        ("manager", f"{ENT}:manager.value"),
        (f"{ENT}:costCenter", f"{ENT}:costCenter"),
        (f"{USER}:title", "title"),
        (f"{ACME}:level", f"{ACME}:level"),
    ],
)
def test_config_paths_resolve_to_attribute_paths(path: str, expected: str) -> None:
    assert attribute_path(path) == expected


def test_a_bad_config_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="compare"):
        attribute_path("emails[[", "compare")


def _target_schemas(exports: Exports) -> None:
    exports.declare(
        "app",
        [
            {
                "id": USER,
                "name": "User",
                "attributes": [
                    {"name": "userName", "type": "string", "caseExact": True, "required": True},
                    {"name": "active", "type": "boolean"},
                    {"name": "title", "type": "string"},
                    {
                        "name": "emails",
                        "type": "complex",
                        "multiValued": True,
                        "subAttributes": [
                            {"name": "value", "type": "string"},
                            {"name": "primary", "type": "boolean"},
                        ],
                    },
                ],
            },
            {"id": ACME, "name": "Acme", "attributes": [{"name": "department", "type": "string"}]},
        ],
        [{"name": "User", "schema": USER, "schemaExtensions": [{"schema": ACME, "required": False}]}],
    )


def test_mapping_rules_find_and_do_not_find(store: Store, exports: Exports) -> None:
    source = [
        user(
            "s1",
            userName="Ann@Example.com",
            title="Boss",
            schemas=[USER, ENT],
            **{ENT: {"department": "R&D"}},
        ),
        user("s2", userName="bob@example.com", schemas=[USER, ENT], **{ENT: {"department": "Ops"}}),
    ]
    target = [
        user(
            "t1",
            externalId="s1",
            userName="ann@example.com",
            title="Boss",
            schemas=[USER, ACME],
            **{ACME: {"department": "R&D"}},
        ),
        user(
            "t2",
            externalId="s2",
            userName="bob@example.com",
            schemas=[USER, ACME],
            **{ACME: {"department": "Ops"}},
        ),
    ]
    exports.add(source, system="idp")
    exports.add(target, system="app")
    _target_schemas(exports)
    config = parse_config(
        {
            "reconcile": {
                "idp": {"app": {"compare": ["userName", "active", "title", "department", "emails[primary]"]}}
            },
            "thresholds": {"mapping_unpopulated_in_target": 0},
        }
    )
    summary = validate_mapping(store, "idp", "app", config)
    rows = pq.read_table(summary.findings_path).to_pylist()
    got = {(r["kind"], r["severity"], r["attribute"], r["source_id"], r["target_id"]) for r in rows}
    assert got == {
        # userName is caseExact in the target only: for the match rule and the compared attribute
        ("mapping_case_exact_mismatch", "medium", "userName = userName", None, None),
        ("mapping_case_exact_mismatch", "medium", "userName", None, None),
        # department lives in a custom extension at the target
        ("mapping_attribute_undeclared", "high", "department", None, None),
        ("mapping_unpopulated_in_target", "high", "department", None, None),
        # Ann's userName differs only by case (high: the target is caseExact); Bob's is identical
        ("cross_system_case_collision", "high", "userName", "s1", "t1"),
    }
    unpopulated = next(r for r in rows if r["kind"] == "mapping_unpopulated_in_target")
    assert f"the target populates {ACME}:department (2 users) instead" in unpopulated["detail"]
    assert [t.kind for t in summary.exceeded] == ["mapping_unpopulated_in_target"]
    # both exports were validated on the way (their census is what "populated" counts)
    assert read_summary(store, "idp", "c1") is not None
    assert read_summary(store, "app", "c1") is not None
    by_attribute = {a["attribute"]: a for a in summary.attributes}
    assert by_attribute["title"]["source_populated"] == 1 and by_attribute["title"]["target_populated"] == 1
    assert by_attribute["id = externalId"]["target_populated"] == 2


def test_the_default_mapping_on_two_rfc_systems(store: Store, exports: Exports) -> None:
    exports.add([user("s1", title="A")], system="idp")
    exports.add([user("t1", externalId="s1", userName="s1@example.com")], system="app")
    summary = validate_mapping(store, "idp", "app")
    rows = pq.read_table(summary.findings_path).to_pylist()
    assert [(r["kind"], r["attribute"]) for r in rows] == [("mapping_unpopulated_in_target", "title")]
    assert summary.cycle == "c1"
