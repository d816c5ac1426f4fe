"""The SCIM path <-> column table (recon/scim_columns.py) is what extraction writes and what
every reader of paths resolves against; multi-valued attributes follow RFC 7643 per type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pytest

from recon.attributes import group_attribute, user_attribute
from recon.errors import ConfigError
from recon.extract.json_columns import lines_of, page_rows
from recon.extract.normalize import normalise
from recon.schemas import GROUPS, USERS
from recon.scim.filter import DEFAULT_CATALOG
from recon.scim_columns import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    FLATTENED,
    LIST_COLUMNS,
    PRIMARY_EMAIL,
    Flattened,
    flattened,
    is_multi_valued,
)

_TIMES = {"created": "2026-01-02T03:04:05Z", "lastModified": "2026-02-03T04:05:06Z"}


def _value(f: Flattened) -> Any:
    if f.attribute == "active":
        return False  # not the default, so a column read from elsewhere shows
    if f.attribute == "meta" and f.sub in _TIMES:
        return _TIMES[f.sub]
    return f"{f.attribute}.{f.sub or ''}-value"


def _resource(resource_type: str) -> dict[str, Any]:
    """A resource holding a distinct value at every flattened path of the table."""
    resource: dict[str, Any] = {
        "schemas": [CORE_USER, ENTERPRISE_USER] if resource_type == "User" else [CORE_GROUP]
    }
    for f in flattened(resource_type):  # type: ignore[arg-type]
        holder = (
            resource if f.schema.endswith(":core:2.0:" + resource_type) else resource.setdefault(f.schema, {})
        )
        if f.sub is None:
            holder[f.attribute] = _value(f)
        else:
            holder.setdefault(f.attribute, {})[f.sub] = _value(f)
    resource["meta"]["resourceType"] = resource_type
    return resource


def _expected(f: Flattened) -> Any:
    value = _value(f)
    if f.attribute == "meta" and f.sub in _TIMES:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return value


@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_normalise_writes_each_column_from_the_attribute_the_table_names(resource_type: str) -> None:
    row = normalise(_resource(resource_type)).row
    for f in flattened(resource_type):  # type: ignore[arg-type]
        assert row[f.column] == _expected(f), f.path


def test_the_arrow_fast_path_reads_the_same_attributes_into_the_same_columns() -> None:
    resource = _resource("User")
    resource["emails"] = [{"value": "a@example.com", "type": "work", "primary": True}]
    text, offsets = lines_of([orjson.dumps(resource)])
    [batch] = page_rows(pa.py_buffer(text), pa.array(offsets, pa.int32()).buffers()[1], [1])
    assert batch is not None
    row = pa.Table.from_batches([batch]).to_pylist()[0]
    for f in flattened("User"):
        assert row[f.column] == _expected(f), f.path
    assert row[PRIMARY_EMAIL] == "a@example.com"


def test_every_column_of_the_table_is_in_the_normalised_schemas() -> None:
    for f in FLATTENED:
        schema = USERS if f.resource_type == "User" else GROUPS
        assert f.column in schema.names, f
    assert PRIMARY_EMAIL in USERS.names
    assert {column for column, _ in LIST_COLUMNS.values()} == {"emails", "members"}


def test_the_filter_catalog_resolves_each_path_to_its_column() -> None:
    for f in FLATTENED:
        uri = None if f.schema.endswith(":core:2.0:" + f.resource_type) else f.schema
        resolved = DEFAULT_CATALOG.resolve(f.resource_type, f.attribute, f.sub, uri)
        assert resolved.column == f.column, f.path


def test_members_is_multi_valued_in_groups_only_rfc7643() -> None:
    # RFC 7643 §4.2: members belongs to Group; §4.1.2: groups (read-only) to User
    assert is_multi_valued("Group", "members") and not is_multi_valued("User", "members")
    assert is_multi_valued("User", "groups") and not is_multi_valued("Group", "groups")
    with pytest.raises(ConfigError, match="multi-valued"):
        group_attribute("members")
    assert group_attribute("groups").extraction == "json_value"  # not a Group attribute: read from raw
    assert user_attribute('groups[type eq "direct"].value').extraction == "json_multi"
    with pytest.raises(ConfigError, match="not multi-valued"):
        user_attribute('members[type eq "User"].value')


def test_extension_attributes_resolve_by_bare_name() -> None:
    spec = user_attribute("department")
    assert (spec.extraction, spec.column_name) == ("column", "department")
    assert user_attribute(f"{ENTERPRISE_USER}:employeeNumber").column_name == "employee_number"
    assert user_attribute("manager").column_name == "manager_id"


def test_bulk_analyze_checks_every_column_an_operation_can_set() -> None:
    # recon/bulk/expect.py checks a PATCH of each writable flattened attribute (decided on raw)
    from recon.bulk.expect import expectations
    from recon.bulk.model import PATCH_OP, BulkOperation
    from recon.bulk.records import OpRecord
    from recon.scim_columns import by_path

    for resource_type, endpoint in (("User", "Users"), ("Group", "Groups")):
        for path, column in by_path(resource_type, writable=True).items():
            body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": "x"}]}
            op = BulkOperation("PATCH", f"/{endpoint}/r1", "b1", None, body)
            checks = expectations(OpRecord("l", 1, op, "ok", None, None, resource_type, "r1"))
            assert [(c.check, c.attribute) for c in checks] == [("exists", None), ("value", column)], path
