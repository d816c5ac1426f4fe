"""Operations, results and records are built without their dataclass ``__init__`` (model.built):
each must still hold every field, equal to the one the constructor makes."""

from __future__ import annotations

import dataclasses
from typing import Any

from recon.bulk.model import parse_request, parse_response
from recon.bulk.records import Exchange, operation_records

REQUEST = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
    "failOnErrors": 1,
    "Operations": [
        {"method": "post", "path": "/Users", "bulkId": "u1", "data": {"userName": "ann"}},
        {
            "method": "PATCH",
            "path": "/Groups/g1",
            "version": 'W/"1"',
            "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u1"}]}],
            },
        },
        {"method": "DELETE", "path": "/Users/x9"},
    ],
}
RESPONSE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
    "Operations": [
        {"method": "POST", "bulkId": "u1", "location": "https://h/scim/v2/Users/id-1", "status": "201"},
        {"method": "PATCH", "location": "https://h/scim/v2/Groups/g1", "version": 'W/"2"', "status": "200"},
        {
            "method": "DELETE",
            "location": "https://h/scim/v2/Users/x9",
            "status": "404",
            "response": {"detail": "no such user"},
        },
    ],
}


def complete(instance: Any) -> None:
    names = {field.name for field in dataclasses.fields(instance)}
    assert names <= set(vars(instance)), f"{type(instance).__name__} lacks {names - set(vars(instance))}"
    assert dataclasses.replace(instance) == instance  # the constructor, given every field, agrees


def test_parsed_operations_results_and_records_hold_every_field() -> None:
    request = parse_request(REQUEST, "chunk-0001")
    response = parse_response(RESPONSE, "chunk-0001.response")
    records = operation_records(Exchange("chunk-0001", request, response))
    objects = [*request.operations, *response.operations, *records]
    assert len(objects) == 9
    for instance in objects:
        complete(instance)
    assert [r.resource_id for r in records] == ["id-1", "g1", "x9"]
    assert records[1].operation.to_json()["data"]["Operations"][0]["value"] == [{"value": "id-1"}]
