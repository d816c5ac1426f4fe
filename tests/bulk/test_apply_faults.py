"""bulk apply under faults a real server does not produce on its own: lost, garbled, malformed answers,
429 storms, per-operation 503s. The real scim2-server behind the fault proxy applies what it receives,
so "nothing applied twice" is checked on its real state."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from scim_server import RICH_SPC, ScimServer, ScimServerFactory

from recon.bulk.apply import ApplySummary, apply_plan
from recon.bulk.plan import PlanSummary, plan
from recon.bulk.send import HttpSender
from recon.store import Store
from tests.bulk import scenario
from tests.bulk.faults import (
    Fault,
    FaultProxy,
    drop_last,
    edit,
    garble,
    lose,
    rate_limit,
    rename_first_bulk_id,
    status_of,
)
from tests.bulk.live import extractor
from tests.bulk.test_apply_live import findings, remediated

pytestmark = pytest.mark.live


class Runs:
    """Applies a plan through a fresh fault proxy per run, with cycle ids c2, c3, …"""

    def __init__(self, store: Store, server: ScimServer, summary: PlanSummary) -> None:
        self.store, self.server, self.summary = store, server, summary
        self.sleeps: list[float] = []
        self.cycle = 1
        self.proxies: list[FaultProxy] = []

    def apply(self, faults: list[Fault | None], **options: Any) -> ApplySummary:
        proxy = FaultProxy(faults)
        self.proxies.append(proxy)
        self.cycle += 1
        sender = HttpSender(
            self.server.base_url, self.server.token, client=proxy.client(), sleep=self.sleeps.append
        )
        return apply_plan(
            self.store,
            self.summary.out_dir,
            "app",
            sender=sender,
            extract=extractor(self.server, [f"c{self.cycle}"]),
            dry_run=False,
            sleep=self.sleeps.append,
            **options,
        )

    def close(self) -> None:
        for proxy in self.proxies:
            proxy.close()


@pytest.fixture
def runs_for(store: Store, scim_server: ScimServerFactory) -> Iterator[Any]:
    made: list[Runs] = []

    def make(spc: dict[str, Any], *, capabilities: bool = True) -> Runs:
        server = scim_server(spc)
        scenario.build(store, server)
        if not capabilities:
            (store.capabilities_dir("app") / "capabilities.json").unlink()
        findings(store, "c1")
        made.append(Runs(store, server, plan(store, "idp", "app", config=scenario.CONFIG)))
        return made[-1]

    yield make
    for runs in made:
        runs.close()


def outcomes(result: ApplySummary) -> list[str]:
    assert result.run_dir is not None
    return pl.read_parquet(result.run_dir / "bulk_outcomes.parquet")["outcome"].to_list()


def assert_once_each(server: ScimServer) -> None:
    with server.http() as client:
        for endpoint, attribute, value in (
            ("Users", "userName", "carol@example.com"),
            ("Users", "userName", "frank@example.com"),
            ("Groups", "displayName", "new-team"),
            ("Groups", "displayName", "sub-team"),
        ):
            found = client.get(f"/{endpoint}", params={"filter": f'{attribute} eq "{value}"'}).json()
            assert found["totalResults"] == 1, (value, found)


BULK = copy.deepcopy(RICH_SPC) | {"bulk": {"supported": True, "maxOperations": 4, "maxPayloadSize": 1048576}}


@pytest.mark.slow
def test_lost_and_garbled_answers_then_rate_limits_never_apply_twice(runs_for: Any) -> None:
    runs = runs_for(BULK)
    total = runs.summary.total_operations

    lost = runs.apply([lose])  # chunk 1 is applied by the server, its answer never arrives
    assert lost.error is not None and "no answer" in lost.error and lost.requests == 1
    first = outcomes(lost)
    assert first[:4] == ["unconfirmed"] * 4 and set(first[4:]) == {"not_attempted"}
    assert lost.analysis is not None and lost.analysis.unapplied == total
    table = pl.read_parquet(lost.run_dir / "bulk_outcomes.parquet")  # type: ignore[operator]
    assert table["visible"].to_list()[:4] == [True] * 4  # what the lost request did is visible

    garbled = runs.apply([garble])  # chunk 2 is applied, its answer is an HTML page
    assert garbled.error is not None and "the BulkResponse is not JSON" in garbled.error
    assert garbled.requests >= 2  # chunk 1: lookups of the uncertain creations, PATCHes resent

    final = runs.apply([rate_limit(7), rate_limit(7), edit(status_of("PATCH", "503"))])
    assert final.error is None and final.stopped is None
    assert runs.sleeps == [7.0, 7.0, 2.0]  # Retry-After honoured, then one retry round for the 503
    assert final.analysis is not None and final.analysis.unapplied == 0
    assert_once_each(runs.server)
    scenario.copy_source(runs.store, f"c{runs.cycle}")
    assert remediated(findings(runs.store, f"c{runs.cycle}")) == []


@pytest.mark.slow
def test_malformed_bulk_responses_are_clear_errors_and_a_replay_completes(runs_for: Any) -> None:
    small = copy.deepcopy(RICH_SPC) | {
        "bulk": {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1500}
    }
    runs = runs_for(small, capabilities=False)  # the plan assumes 1 MiB: the server answers 413
    assert runs.summary.chunks == 1
    broken = runs.apply([None, None, edit(drop_last)])  # two real 413s (split), then a result missing
    assert broken.error is not None and "malformed BulkResponse: no result for operation" in broken.error
    sizes = [len(request["Operations"]) for request in runs.proxies[0].bulk_requests]
    assert sizes == [runs.summary.total_operations, runs.summary.total_operations // 2, 2]
    assert outcomes(broken)[:2] == ["unconfirmed", "unconfirmed"]
    unknown = runs.apply([None, None, edit(rename_first_bulk_id)])  # the answer names an unknown bulkId
    assert unknown.error is not None and "bulkId 'not-in-the-request', which no" in unknown.error
    again = runs.apply([])
    assert again.error is None and again.analysis is not None and again.analysis.unapplied == 0
    assert_once_each(runs.server)
