"""bulk analyze: given a request, a response and the target export after the run -> expected outcomes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recon.bulk.analyze import analyze_files
from recon.bulk.model import BULK_REQUEST, BULK_RESPONSE, PATCH_OP
from recon.errors import InputError
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA
from recon.store import Store
from tests.bulk.helpers import group, user, write_export

BASE = "https://t.example/v2"


def bulk_request(ops: list[dict[str, Any]], fail_on_errors: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [BULK_REQUEST], "Operations": ops}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    return body


def bulk_response(ops: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [BULK_RESPONSE], "Operations": ops}


def error(status: int, scim_type: str | None = None, detail: str = "no") -> dict[str, Any]:
    body: dict[str, Any] = {"status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def run(store: Store, tmp_path: Path, request: Any, response: Any) -> pl.DataFrame:
    req, resp = tmp_path / "req.json", tmp_path / "resp.json"
    req.write_text(json.dumps(request))
    resp.write_text(response if isinstance(response, str) else json.dumps(response))
    summary, frame = analyze_files(store, "app", pairs=[(req, resp)])
    assert (summary.run_dir / "bulk_outcomes.parquet").is_file()
    return frame


def outcomes(frame: pl.DataFrame) -> list[tuple[str | None, str]]:
    return list(zip(frame["bulk_id"].to_list(), frame["outcome"].to_list(), strict=True))


@pytest.fixture
def target(store: Store) -> Store:
    """The target after the run: u-new (created), u-old (deactivated), g1 with u-new as member."""
    write_export(
        store,
        "app",
        "c2",
        [
            user("u-new", "Ann@x", active=True, name={"givenName": "Ann"}, department="Eng"),
            user("u-old", "bob@x", active=False),
            user("u-still", "cy@x", active=True),
            user("u-dup", "dan@x", active=True, title="Boss"),
            group("g1", "Staff", ["u-new"]),
        ],
    )
    return store


def test_post_and_patch_outcomes_against_the_export(target: Store, tmp_path: Path) -> None:
    request = bulk_request(
        [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "a",
                "data": {
                    "schemas": [USER_SCHEMA, ENTERPRISE_USER],
                    "userName": "ann@x",
                    "active": True,
                    "name": {"givenName": "ann"},
                    ENTERPRISE_USER: {"department": "Eng"},
                },
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "ghost",
                "data": {"schemas": [USER_SCHEMA], "userName": "ghost@x"},
            },
            {
                "method": "PATCH",
                "path": "/Users/u-old",
                "bulkId": "b",
                "version": 'W/"3"',
                "data": patch({"op": "replace", "path": "active", "value": False}),
            },
            {
                "method": "PATCH",
                "path": "/Users/u-still",
                "bulkId": "c",
                "data": patch({"op": "replace", "value": {"active": False}}),
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "d",
                "data": {"schemas": [USER_SCHEMA], "userName": "DAN@x", "title": "boss"},
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "e",
                "data": {"schemas": [USER_SCHEMA], "userName": "eve@x"},
            },
        ]
    )
    response = bulk_response(
        [
            {
                "method": "POST",
                "bulkId": "a",
                "status": "201",
                "location": f"{BASE}/Users/u-new",
                "version": 'W/"1"',
            },
            {"method": "POST", "bulkId": "ghost", "status": "201", "location": f"{BASE}/Users/u-ghost"},
            {"method": "PATCH", "bulkId": "b", "status": "200", "location": f"{BASE}/Users/u-old"},
            {"method": "PATCH", "bulkId": "c", "status": 200, "location": f"{BASE}/Users/u-still"},
            {"method": "POST", "bulkId": "d", "status": "409", "response": error(409, "uniqueness")},
            {"method": "POST", "bulkId": "e", "status": "400", "response": error(400, "invalidValue")},
        ]
    )
    frame = run(target, tmp_path, request, response)
    assert outcomes(frame) == [
        ("a", "applied"),
        ("ghost", "reported_ok_not_applied"),
        ("b", "applied"),
        ("c", "reported_ok_not_applied"),
        ("d", "failed_but_applied"),
        ("e", "failed"),
    ]
    rows = {r["bulk_id"]: r for r in frame.iter_rows(named=True)}
    assert rows["c"]["unmet"] == "active is 'true', expected 'false'"
    assert rows["ghost"]["unmet"] == "not in the export"
    assert rows["d"]["resource_id"] == "u-dup"  # located by userName, case-insensitively
    assert (rows["d"]["status"], rows["d"]["scim_type"]) == (409, "uniqueness")
    assert rows["b"]["version"] == 'W/"3"'


def test_fail_on_errors_leaves_the_rest_not_attempted(target: Store, tmp_path: Path) -> None:
    request = bulk_request(
        [
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "eve@x"}},
            {
                "method": "PATCH",
                "path": "/Users/u-still",
                "bulkId": "y",
                "data": patch({"op": "replace", "path": "active", "value": False}),
            },
            {"method": "DELETE", "path": "/Users/u-old", "bulkId": "z"},
        ],
        fail_on_errors=1,
    )
    response = bulk_response([{"method": "POST", "bulkId": "x", "status": "400", "response": error(400)}])
    frame = run(target, tmp_path, request, response)
    assert outcomes(frame) == [("x", "failed"), ("y", "not_attempted"), ("z", "not_attempted")]
    assert frame["visible"].to_list() == [False, False, False]


def test_bulk_id_references_resolve_to_the_created_ids(target: Store, tmp_path: Path) -> None:
    request = bulk_request(
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": "Staff",
                    "members": [{"value": "bulkId:u", "type": "User"}],
                },
            },
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "ann@x"}},
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u",
                "data": patch({"op": "replace", "path": "name.givenName", "value": "ANN"}),
            },
            {
                "method": "PATCH",
                "path": "/Groups/g1",
                "data": patch({"op": "remove", "path": 'members[value eq "u-still"]'}),
            },
        ]
    )
    # results in execution order (the server ran the referenced POST first); the PATCHes carry no bulkId
    response = bulk_response(
        [
            {"method": "POST", "bulkId": "u", "status": "201", "location": f"{BASE}/Users/u-new"},
            {"method": "POST", "bulkId": "g", "status": "201", "location": f"{BASE}/Groups/g1"},
            {"method": "PATCH", "status": "200", "location": f"{BASE}/Users/u-new"},
            {"method": "PATCH", "status": "200", "location": f"{BASE}/Groups/g1"},
        ]
    )
    frame = run(target, tmp_path, request, response)
    assert frame["outcome"].to_list() == ["applied"] * 4
    assert frame["resource_id"].to_list() == ["g1", "u-new", "u-new", "g1"]
    assert frame["path"].to_list()[2] == "/Users/u-new"


def test_group_member_not_added_is_reported(target: Store, tmp_path: Path) -> None:
    request = bulk_request(
        [
            {
                "method": "PATCH",
                "path": "/Groups/g1",
                "bulkId": "m",
                "data": patch({"op": "add", "path": "members", "value": [{"value": "u-still"}]}),
            }
        ]
    )
    response = bulk_response([{"method": "PATCH", "bulkId": "m", "status": "200"}])
    frame = run(target, tmp_path, request, response)
    assert outcomes(frame) == [("m", "reported_ok_not_applied")]
    assert frame["unmet"].to_list() == ["member u-still is not in the group"]


def test_checks_after_a_run_of_members_are_numbered_and_decided_in_order(
    target: Store, tmp_path: Path
) -> None:
    # membership checks are kept as runs (recon.bulk.expect.Members): a value check after a run is
    # decided at its own row, and the first unmet check is the first in the operation's order
    members = {"op": "add", "path": "members", "value": [{"value": "u-new"}, {"value": "u-still"}]}
    request = bulk_request(
        [
            {
                "method": "PATCH",
                "path": "/Groups/g1",
                "bulkId": "m1",
                "data": patch(
                    members,
                    {"op": "replace", "path": "displayName", "value": "staff"},
                    {"op": "remove", "path": 'members[value eq "u-new"]'},
                ),
            },
            {
                "method": "PATCH",
                "path": "/Groups/g1",
                "bulkId": "m2",
                "data": patch(
                    {"op": "add", "path": "members", "value": [{"value": "u-new"}]},
                    {"op": "replace", "path": "displayName", "value": "Other"},
                ),
            },
        ]
    )
    response = bulk_response([{"method": "PATCH", "bulkId": b, "status": "200"} for b in ("m1", "m2")])
    frame = run(target, tmp_path, request, response)
    assert outcomes(frame) == [("m1", "reported_ok_not_applied"), ("m2", "reported_ok_not_applied")]
    # m1: exists, u-new, u-still (unmet), displayName (met: caseExact=false), not u-new (unmet)
    assert frame["checks"].to_list() == [5, 3]
    assert frame["checks_met"].to_list() == [3, 2]
    assert frame["unmet"].to_list() == [
        "member u-still is not in the group",
        "display_name is 'Staff', expected 'Other'",
    ]


def test_unverifiable_operation(target: Store, tmp_path: Path) -> None:
    request = bulk_request(
        [
            {
                "method": "PATCH",
                "path": "/Users/u-still",
                "bulkId": "n",
                "data": patch({"op": "replace", "path": "nickName", "value": "C"}),
            }
        ]
    )
    response = bulk_response([{"method": "PATCH", "bulkId": "n", "status": "200"}])
    frame = run(target, tmp_path, request, response)
    assert outcomes(frame) == [("n", "unverified")]
    assert frame["visible"].to_list() == [None]


def test_summary_counts_and_rerun_from_the_copied_log(target: Store, tmp_path: Path) -> None:
    request = bulk_request(
        [
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "eve@x"}},
            {"method": "DELETE", "path": "/Users/u-gone", "bulkId": "z"},
        ],
        fail_on_errors=1,
    )
    response = bulk_response([{"method": "POST", "bulkId": "x", "status": "500", "response": error(500)}])
    req, resp = tmp_path / "req.json", tmp_path / "resp.json"
    req.write_text(json.dumps(request))
    resp.write_text(json.dumps(response))
    summary, _ = analyze_files(target, "app", pairs=[(req, resp)], run_id="r1")
    saved = json.loads((summary.run_dir / "summary.json").read_text())
    assert saved["outcomes"]["failed"] == 1 and saved["outcomes"]["not_attempted"] == 1
    assert saved["unapplied"] == 2 and saved["export_cycle"] == "c2"
    again, frame = analyze_files(target, "app", logs=[summary.run_dir / "exchanges.ndjson"], run_id="r2")
    assert again.outcomes == summary.outcomes
    assert frame["outcome"].to_list() == ["failed", "not_attempted"]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ("<html>502 Bad Gateway</html>", "resp.json:1:1: not valid JSON"),
        ("", "resp.json: empty file, not JSON"),
        ({"schemas": [BULK_RESPONSE]}, "not a BulkResponse: no 'Operations' list"),
        (
            bulk_response([{"method": "POST", "bulkId": "x", "status": "201"}]),
            "no result for operation #2 (DELETE /Users/u-old) although failOnErrors was not set",
        ),
        (
            bulk_response(
                [
                    {"method": "POST", "bulkId": "x", "status": "201"},
                    {"method": "DELETE", "bulkId": "q", "status": "204"},
                ]
            ),
            "result #2 has bulkId 'q', which no DELETE operation of the request has",
        ),
        (
            bulk_response(
                [
                    {"method": "POST", "bulkId": "x", "status": "201"},
                    {"method": "DELETE", "bulkId": "z", "status": "204"},
                    {"method": "DELETE", "bulkId": "z", "status": "204"},
                ]
            ),
            "3 results for 2 operations",
        ),
        (
            bulk_response([{"method": "POST", "bulkId": "x"}]),
            "response operation #1: missing or invalid 'status'",
        ),
    ],
)
def test_malformed_responses_are_clear_errors_and_write_nothing(
    target: Store, tmp_path: Path, response: Any, message: str
) -> None:
    request = bulk_request(
        [
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "eve@x"}},
            {"method": "DELETE", "path": "/Users/u-old", "bulkId": "z"},
        ]
    )
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(target, tmp_path, request, response)
    assert not (target.root / "bulk").exists()


def test_no_target_export_is_an_error_before_anything_is_written(store: Store, tmp_path: Path) -> None:
    req, resp = tmp_path / "req.json", tmp_path / "resp.json"
    req.write_text(json.dumps(bulk_request([])))
    resp.write_text(json.dumps(bulk_response([])))
    with pytest.raises(Exception, match="no complete full export of system 'app'"):
        analyze_files(store, "app", pairs=[(req, resp)])
    assert not (store.root / "bulk").exists()


def test_an_export_older_than_the_run_is_flagged(store: Store, tmp_path: Path) -> None:
    write_export(store, "app", "c9", [user("u1", "ann@x")], started="2026-01-05T02:00:00Z")
    log = tmp_path / "run.ndjson.gz"
    line = {
        "type": "exchange",
        "recorded_at": "2026-01-05T03:00:00.5Z",
        "request": bulk_request([{"method": "DELETE", "path": "/Users/u1", "bulkId": "d"}]),
        "response": bulk_response([{"method": "DELETE", "bulkId": "d", "status": "204"}]),
    }
    log.write_bytes(gzip.compress(json.dumps(line).encode()))
    summary, frame = analyze_files(store, "app", logs=[log])
    assert frame["outcome"].to_list() == ["reported_ok_not_applied"]
    assert summary.warnings == (
        "the export of app cycle c9 started at 2026-01-05T02:00:00Z, before the run's last answer "
        "(2026-01-05T03:00:00.5Z): what the run changed may show as not applied; take a new export "
        "(recon extract --system app) and analyze again",
    )
    assert (
        json.loads((summary.run_dir / "exchanges.ndjson").read_text())["recorded_at"] == line["recorded_at"]
    )


def _files(tmp_path: Path, exchanges: list[tuple[Any, Any]]) -> list[tuple[Path, Path]]:
    pairs = []
    for number, (request, response) in enumerate(exchanges, start=1):
        req, resp = tmp_path / f"req-{number}.json", tmp_path / f"resp-{number}.json"
        req.write_text(request if isinstance(request, str) else json.dumps(request))
        resp.write_text(response if isinstance(response, str) else json.dumps(response))
        pairs.append((req, resp))
    return pairs


def test_files_read_one_by_one_give_the_outcomes_of_the_records_read_at_once(
    target: Store, tmp_path: Path
) -> None:
    # request/response files are turned into table rows and checks as each is read; the same
    # exchanges given as a log go through every record at once: the tables are the same, across
    # files (a reference to a bulkId created in an earlier file, a path naming a bulkId whose POST
    # failed and comes in a later file, located by that POST's userName)
    exchanges = [
        (
            bulk_request(
                [
                    {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "ann@x"}},
                    {
                        "method": "PATCH",
                        "path": "/Users/bulkId:late",
                        "bulkId": "p",
                        "data": patch({"op": "replace", "path": "title", "value": "Boss"}),
                    },
                ]
            ),
            bulk_response(
                [
                    {"method": "POST", "bulkId": "a", "status": "201", "location": f"{BASE}/Users/u-new"},
                    {"method": "PATCH", "bulkId": "p", "status": "200"},
                ]
            ),
        ),
        (
            bulk_request(
                [
                    {
                        "method": "PATCH",
                        "path": "/Groups/g1",
                        "bulkId": "g",
                        "data": patch(
                            {
                                "op": "add",
                                "path": "members",
                                "value": [{"value": "bulkId:a"}, {"value": "u-old"}],
                            }
                        ),
                    },
                    {"method": "POST", "path": "/Users", "bulkId": "late", "data": {"userName": "DAN@x"}},
                ]
            ),
            bulk_response(
                [
                    {"method": "PATCH", "bulkId": "g", "status": "200"},
                    {"method": "POST", "bulkId": "late", **error(409, "uniqueness")},
                ]
            ),
        ),
    ]
    (tmp_path / "files").mkdir()
    pairs = _files(tmp_path / "files", exchanges)
    log = tmp_path / "exchanges.ndjson"
    log.write_text(
        "".join(
            json.dumps({"type": "exchange", "label": resp.name, "request": request, "response": response})
            + "\n"
            for (request, response), (_, resp) in zip(exchanges, pairs, strict=True)
        )
    )
    _, one_by_one = analyze_files(target, "app", pairs=pairs)
    _, at_once = analyze_files(target, "app", logs=[log])
    assert one_by_one.equals(at_once)
    assert outcomes(one_by_one) == [
        ("a", "applied"),
        ("p", "applied"),  # u-dup, found by the userName of the POST that failed
        ("g", "reported_ok_not_applied"),  # u-old is not in g1
        ("late", "failed_but_applied"),
    ]
    assert one_by_one["resource_id"].to_list() == ["u-new", "u-dup", "g1", "u-dup"]


def test_a_file_not_json_is_reported_before_a_malformed_response_read_earlier(
    target: Store, tmp_path: Path
) -> None:
    # as when every file was read before pairing: the first file's response lacks a result (its
    # error is kept while the other files are read), the second file is not JSON
    pairs = _files(
        tmp_path,
        [
            (
                bulk_request([{"method": "DELETE", "path": "/Users/u-old", "bulkId": "x"}]),
                bulk_response([]),
            ),
            ("{not json", bulk_response([])),
        ],
    )
    with pytest.raises(InputError, match=r"req-2\.json:1:2: not valid JSON"):
        analyze_files(target, "app", pairs=pairs)
    with pytest.raises(InputError, match="no result for operation #1"):
        analyze_files(target, "app", pairs=pairs[:1])
    assert not (target.root / "bulk").exists()
