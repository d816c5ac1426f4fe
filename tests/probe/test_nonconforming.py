"""recon probe reports each deviation of a non-conforming server as what it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.cli import main
from recon.extract.files import import_files
from recon.probe import ProbeSummary, probe
from recon.scim.client import ScimClient
from recon.store import Store
from tests.probe.mock_server import NonConformingServer


def run(tmp_path: Path, store: Store, server: NonConformingServer) -> ProbeSummary:
    export = tmp_path / "export.ndjson"
    export.write_text("\n".join(json.dumps(r) for r in server.users + server.groups) + "\n")
    import_files(store, [export], system="app", cycle="c1")
    with ScimClient(
        "https://app.example/scim/v2", "secret-token-123", transport=server.transport()
    ) as client:
        return probe(store, "app", client)


def statuses(summary: ProbeSummary) -> dict[str, dict[str, object]]:
    return {str(row["probe"]): row for row in summary.rows}


@pytest.fixture(scope="module")
def deviant(tmp_path_factory: pytest.TempPathFactory) -> ProbeSummary:
    folder = tmp_path_factory.mktemp("deviant")
    return run(folder, Store(folder / "data"), NonConformingServer())


def test_case_sensitive_user_name_is_missing_the_user(deviant: ProbeSummary) -> None:
    row = statuses(deviant)["userName_eq_other_case"]
    assert (row["status"], row["expected_count"], row["returned_count"], row["missing_count"]) == (
        "missing",
        1,
        0,
        1,
    )
    assert "case-sensitively" in str(row["detail"])
    assert statuses(deviant)["userName_eq"]["status"] == "exact"
    assert statuses(deviant)["emails_value_other_case"]["status"] == "exact"  # emails.value is not affected


def test_ignored_not_is_recognised(deviant: ProbeSummary) -> None:
    row = statuses(deviant)["not_userName_ne"]
    assert (row["status"], row["missing_count"], row["extra_count"]) == ("missing_and_extra", 1, 299)
    assert "'not (...)' was ignored" in str(row["detail"])


def test_active_filter_answering_nothing(deviant: ProbeSummary) -> None:
    rows = statuses(deviant)
    assert (rows["active_eq_true"]["status"], rows["active_eq_true"]["missing_count"]) == ("missing", 240)
    assert (rows["active_eq_false"]["status"], rows["active_eq_false"]["missing_count"]) == ("missing", 60)
    assert rows["and_active_userName_sw"]["status"] == "missing"


def test_conforming_parts_stay_exact(deviant: ProbeSummary) -> None:
    rows = statuses(deviant)
    for name in (
        "userName_sw",
        "userName_co",
        "userName_ew",
        "lastModified_gt",
        "lastModified_ge",
        "emails_value_path",
        "title_pr",
        "group_displayName_other_case",
    ):
        assert rows[name]["status"] == "exact", name
    assert (rows["invalid_filter"]["status"], rows["invalid_filter"]["scim_type"]) == (
        "rejected",
        "invalidFilter",
    )


def test_paging_deviations(deviant: ProbeSummary) -> None:
    rows = statuses(deviant)
    cap = rows["page_size_cap"]
    assert (cap["status"], cap["expected_count"], cap["returned_count"], cap["missing_count"]) == (
        "missing",
        200,
        50,
        150,
    )
    assert "capped at 50" in str(cap["detail"])
    past = rows["past_the_end"]
    assert (past["status"], past["extra_count"]) == ("extra", 10)
    assert "first page again" in str(past["detail"])
    assert rows["cursor"]["status"] == "ignored"
    observed = json.loads(deviant.capabilities_path.read_text())["observed"]
    assert observed["pagination.max_page_size"]["value"] == 50
    assert observed["pagination.past_the_end"]["value"] == "repeats_first_page"
    assert observed["pagination.cursor"]["value"] == "ignored"
    assert "secret-token-123" not in deviant.capabilities_path.read_text()


def test_a_server_that_ignores_filters_is_reported_as_ignoring_them(tmp_path: Path, store: Store) -> None:
    class IgnoresFilters(NonConformingServer):
        def evaluate(self, flt, resource, resource_type):  # type: ignore[no-untyped-def]
            return True

    rows = statuses(run(tmp_path, store, IgnoresFilters()))
    assert rows["userName_eq"]["status"] == "ignored"
    assert rows["active_eq_false"]["status"] == "ignored"


def test_a_conforming_mock_is_exact_everywhere(tmp_path: Path, store: Store) -> None:
    """Control: every deviation off, the battery is all exact (so the tests above measure the deviations)."""
    server = NonConformingServer(
        case_sensitive_user_name=False,
        ignore_not=False,
        active_finds_nothing=False,
        real_max_page=200,
        repeat_first_page_past_the_end=False,
    )
    rows = statuses(run(tmp_path, store, server))
    filters = {
        name: row["status"] for name, row in rows.items() if row["filter"] and name != "invalid_filter"
    }
    assert set(filters.values()) == {"exact"}
    assert rows["page_size_cap"]["status"] == "exact" and rows["past_the_end"]["status"] == "exact"


def test_cli_prints_the_matrix(
    tmp_path: Path, store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = NonConformingServer()
    export = tmp_path / "export.ndjson"
    export.write_text("\n".join(json.dumps(r) for r in server.users + server.groups) + "\n")
    import_files(store, [export], system="app", cycle="c1")
    config = tmp_path / "recon.toml"
    config.write_text('[systems.app]\nbase_url = "https://app.example/scim/v2"\ntoken_env = "APP_TOKEN"\n')
    monkeypatch.setenv("APP_TOKEN", "secret-token-123")
    original = ScimClient.__init__

    def with_mock(self: ScimClient, *args: object, **kwargs: object) -> None:
        kwargs["transport"] = server.transport()
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ScimClient, "__init__", with_mock)
    assert main(["probe", "--system", "app", "--data-dir", str(store.root), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "userName_eq_other_case" in out and "missing 1" in out
    assert "rejected (400, invalidFilter)" in out
    assert "capability matrix" in out and "maxPageSize 200" in out
    assert "secret-token-123" not in out
