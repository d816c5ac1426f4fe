"""recon probe against a real scim2-server (rich: filters work; limited: no filter support)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from scim_server import ScimServer

from recon.capabilities import load_capabilities
from recon.extract.live import ExtractRequest, extract_live
from recon.probe.run import PROBE_SCHEMA, ProbeSummary, probe
from recon.scim.client import ScimClient
from recon.store import Store

pytestmark = pytest.mark.live


def probed(store: Store, server: ScimServer) -> ProbeSummary:
    with ScimClient(server.base_url, server.token) as client:
        extract_live(store, client, ExtractRequest(system="app", cycle="c1"), page_size=1000)
        return probe(store, "app", client)


@pytest.fixture(scope="module")
def rich(
    rich_scim_server: ScimServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Store, ProbeSummary]:
    store = Store(tmp_path_factory.mktemp("rich") / "data")
    return store, probed(store, rich_scim_server)


def by_probe(summary: ProbeSummary) -> dict[str, dict[str, object]]:
    return {str(row["probe"]): row for row in summary.rows}


@pytest.mark.slow
def test_every_filter_is_exact_on_the_rich_server(rich: tuple[Store, ProbeSummary]) -> None:
    _, summary = rich
    rows = by_probe(summary)
    filters = {
        name: row for name, row in rows.items() if row["filter"] is not None and name != "invalid_filter"
    }
    assert set(filters) >= {
        "userName_eq_other_case",
        "active_eq_true",
        "active_eq_false",
        "lastModified_gt",
        "lastModified_ge",
        "emails_value_path",
        "userName_sw",
        "userName_co",
        "userName_ew",
        "title_pr",
        "and_active_userName_sw",
        "or_userName_eq",
        "not_userName_ne",
        "group_displayName_other_case",
    }
    assert {name: row["status"] for name, row in filters.items()} == dict.fromkeys(filters, "exact")
    for name, row in filters.items():
        assert row["expected_count"] and row["expected_count"] == row["returned_count"], name
    # the seeded directory: 2,000 users, every 7th inactive
    assert rows["active_eq_false"]["expected_count"] == len(range(0, 2000, 7))
    assert rows["userName_eq_other_case"]["expected_count"] == 1
    invalid = rows["invalid_filter"]
    assert (invalid["status"], invalid["http_status"], invalid["scim_type"]) == (
        "rejected",
        400,
        "invalidFilter",
    )


def test_paging_on_the_rich_server(rich: tuple[Store, ProbeSummary]) -> None:
    store, summary = rich
    rows = by_probe(summary)
    assert (rows["page_size_cap"]["status"], rows["page_size_cap"]["returned_count"]) == ("exact", 1000)
    assert (rows["past_the_end"]["status"], rows["past_the_end"]["returned_count"]) == ("exact", 0)
    assert rows["cursor"]["status"] == "exact"
    observed = load_capabilities(store, "app").observed  # type: ignore[union-attr]
    assert observed["pagination.max_page_size"]["value"] == 1000
    assert observed["pagination.past_the_end"]["value"] == "empty"
    assert observed["pagination.cursor"]["value"] == "works"
    assert observed["probe.userName_eq_other_case"]["value"]["status"] == "exact"
    assert observed["probe.userName_eq_other_case"]["by"] == "probe"


def test_probe_parquet_has_the_contract_columns(rich: tuple[Store, ProbeSummary]) -> None:
    _, summary = rich
    frame = pl.read_parquet(summary.probe_path)
    assert frame.columns == PROBE_SCHEMA.names
    assert frame.height == len(summary.rows)
    assert set(frame["status"]) <= {
        "exact",
        "missing",
        "extra",
        "missing_and_extra",
        "ignored",
        "rejected",
        "error",
    }


def test_limited_server_rejects_every_filter(limited_scim_server: ScimServer, tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    summary = probed(store, limited_scim_server)
    rows = by_probe(summary)
    filters = [row for row in rows.values() if row["filter"] is not None]
    assert filters and {(row["status"], row["http_status"]) for row in filters} == {("rejected", 501)}
    assert (rows["page_size_cap"]["status"], rows["page_size_cap"]["returned_count"]) == ("exact", 100)
    assert rows["past_the_end"]["status"] == "exact"
    assert rows["cursor"]["status"] == "rejected"
    matrix = {capability: (advertised, observed) for capability, advertised, observed in summary.matrix}
    assert matrix["filter"][0].startswith("no")
    assert matrix["cursor paging"][0] == "no"
    written = json.loads(summary.capabilities_path.read_text())
    assert written["observed"]["pagination.cursor"]["value"] == "rejected"
