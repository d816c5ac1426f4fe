"""Shape walking: json_structure of a resource -> observation rows (given structure, expected rows)."""

from __future__ import annotations

import duckdb
import pytest

from recon.errors import InputError
from recon.validate.shapes import observation_rows

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _structure(resource_json: str) -> str:
    """The structure DuckDB gives the resource (the same function validate_shapes uses)."""
    return str(duckdb.sql("SELECT json_structure($r)", params={"r": resource_json}).fetchall()[0][0])


def _rows(resource_json: str) -> list[tuple[object, ...]]:
    return [
        (r["path"], r["parent"], r["observed"], r["element"], r["in_array"], r["block"])
        for r in observation_rows(7, _structure(resource_json))
    ]


def test_core_attributes_arrays_and_extension_blocks() -> None:
    resource = (
        '{"userName": "a", "active": true, "name": {"givenName": "A"}, "nickName": null, "x": 1.5, "n": -2,'
        ' "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "type": "home"}],'
        ' "schemas": ["urn:a", "urn:b"],'
        f' "{ENT}": {{"department": "Ops", "manager": {{"value": "m"}}}}}}'
    )
    assert _rows(resource) == [
        ("userName", None, "string", None, False, False),
        ("active", None, "boolean", None, False, False),
        ("name", None, "object", None, False, False),
        ("name.givenName", "name", "string", None, False, False),
        ("nickName", None, "null", None, False, False),
        ("x", None, "decimal", None, False, False),
        ("n", None, "integer", None, False, False),
        ("emails", None, "array", "object", False, False),
        ("emails.value", "emails", "string", None, True, False),
        ("emails.primary", "emails", "boolean", None, True, False),
        ("emails.type", "emails", "string", None, True, False),
        ("schemas", None, "array", "string", False, False),
        (ENT, None, "object", None, False, True),
        (f"{ENT}:department", ENT, "string", None, False, False),
        (f"{ENT}:manager", ENT, "object", None, False, False),
        (f"{ENT}:manager.value", f"{ENT}:manager", "string", None, False, False),
    ]


def test_empty_and_mixed_values() -> None:
    resource = (
        '{"name": {}, "emails": [], "roles": [1, "a"], "ims": [{"value": 1}, {"value": "a"}], "urn:x:y": "s"}'
    )
    assert _rows(resource) == [
        ("name", None, "empty_object", None, False, False),
        ("emails", None, "array", "null", False, False),
        ("roles", None, "array", "mixed", False, False),
        ("ims", None, "array", "object", False, False),
        ("ims.value", "ims", "mixed", None, True, False),
        ("urn:x:y", None, "string", None, False, True),
    ]


def test_every_row_carries_the_shape_number() -> None:
    assert {r["shape_no"] for r in observation_rows(7, '{"a": "VARCHAR", "b": {"c": "NULL"}}')} == {7}


def test_a_structure_that_is_not_json_is_an_input_error() -> None:
    with pytest.raises(InputError, match="shape 3"):
        list(observation_rows(3, "{not json"))
