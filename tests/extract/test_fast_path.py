"""A crawl mixing plain pages (read as columns) with pages that need ``normalise``: the export and
its anomalies are those of normalising every resource one by one, in page order."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fake_scim import FakeScim, capabilities

from recon.extract.live import ExtractRequest, ExtractResult, extract_live
from recon.extract.normalize import normalise
from recon.schemas import USERS
from recon.store import Store


def run(store: Store, fake: FakeScim, cycle: str) -> ExtractResult:
    with fake.client() as client:
        return extract_live(
            store,
            client,
            ExtractRequest(system="fake", cycle=cycle, resources=("Users",)),
            capabilities=capabilities(),
            page_size=10,
        )


def expected_users(resources: list[dict[str, Any]]) -> pa.Table:
    rows = {}
    for resource in resources:
        try:
            rows.setdefault(resource["id"], normalise(resource).row)
        except Exception:
            continue
    return pa.Table.from_pylist([rows[k] for k in sorted(rows)], schema=USERS)


def test_odd_pages_between_plain_ones_keep_their_anomalies_in_order(store: Store) -> None:
    fake = FakeScim(users=45)
    users = fake.data["Users"]
    users[12]["active"] = "true"  # page 2: coerced, with an anomaly
    users[23]["meta"]["lastModified"] = "2026-01-01T00:00:00"  # page 3: no offset
    users[34]["userName"] = ["not", "a", "string"]  # page 4: rejected
    result = run(store, fake, "c1")
    manifest = result.manifest
    assert [a["kind"] for a in manifest.anomalies] == [
        "boolean_as_string",
        "timestamp_without_offset",
        "rejected_resources",
    ]
    assert manifest.status == "partial" and manifest.rejected == 1
    assert manifest.items_received == {"Users": 45}
    assert pq.read_table(result.export_path / "users.parquet").equals(expected_users(users))


def test_ids_out_of_order_and_repeated_are_sorted_and_deduplicated(store: Store) -> None:
    fake = FakeScim(users=40, total_lie=39)  # 40 resources served, 39 distinct ids
    users = fake.data["Users"]
    users[5], users[30] = users[30], users[5]  # a page with ids out of order
    users[33] = dict(users[2], userName="second-copy@example.com")  # the same id on a later page
    result = run(store, fake, "c1")
    assert result.manifest.duplicates_dropped == 1
    assert [a["kind"] for a in result.manifest.anomalies] == ["duplicate_ids"]
    table = pq.read_table(result.export_path / "users.parquet")
    assert table.equals(expected_users(users))
    assert table.num_rows == 39


def test_the_same_directory_in_order_or_not_gives_the_same_bytes(store: Store) -> None:
    in_order = FakeScim(users=35)
    shuffled = FakeScim(users=35)
    shuffled.data["Users"].reverse()
    a = run(store, in_order, "a").export_path / "users.parquet"
    b = run(store, shuffled, "b").export_path / "users.parquet"
    assert a.read_bytes() == b.read_bytes()
