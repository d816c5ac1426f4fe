"""Faults a real SCIM server cannot produce, through httpx.MockTransport: each run ends complete
and exact, or partial with the reason; nothing loops forever and no test really sleeps."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import polars as pl
import pytest
from fake_scim import LIST, TOKEN, FakeScim, capabilities, scim_json

from recon.errors import ScimError
from recon.extract.live import ExtractRequest, ExtractResult, extract_live
from recon.scim.client import parse_retry_after
from recon.store import Store


def run(
    store: Store,
    fake: FakeScim,
    *,
    sleeps: list[float] | None = None,
    resources: tuple[str, ...] = ("Users",),
    cursor: bool = False,
    page_size: int = 10,
    concurrency: int = 1,
    max_pages: int | None = None,
    client_kwargs: dict[str, Any] | None = None,
) -> ExtractResult:
    with fake.client(sleeps, **(client_kwargs or {})) as client:
        return extract_live(
            store,
            client,
            ExtractRequest(system="fake", cycle="c1", resources=resources, max_pages=max_pages),
            capabilities=capabilities(cursor=cursor),
            page_size=page_size,
            concurrency=concurrency,
        )


def user_ids(result: ExtractResult) -> list[str]:
    return sorted(pl.read_parquet(result.export_path / "users.parquet")["id"].to_list())


def kinds(result: ExtractResult) -> dict[str, bool]:
    return {a["kind"]: a["affects_completeness"] for a in result.manifest.anomalies}


def expected_ids(n: int) -> list[str]:
    return [f"u{i:04d}" for i in range(n)]


def test_429_storm_waits_retry_after_seconds_and_http_date(store: Store) -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    throttled = [
        scim_json({"detail": "slow down"}, 429, {"Retry-After": "7"}),
        scim_json({"detail": "slow down"}, 429, {"Retry-After": later}),
        scim_json({"detail": "slow down"}, 429, {"Retry-After": "3"}),
    ]
    fake = FakeScim(users=25, faults={2: lambda r: throttled.pop(0) if throttled else None})
    fake.faults.update({3: fake.faults[2], 4: fake.faults[2]})
    sleeps: list[float] = []
    result = run(store, fake, sleeps=sleeps)
    assert result.manifest.status == "complete"
    assert user_ids(result) == expected_ids(25)
    assert sleeps[0] == pytest.approx(7.05)
    assert 115 < sleeps[1] < 121  # the HTTP date, not a backoff
    assert sleeps[2] == pytest.approx(3.05)
    assert result.manifest.origin["client"]["throttled"] == 3


def test_429_forever_ends_partial_with_the_reason(store: Store) -> None:
    fake = FakeScim(
        users=25, faults={n: lambda r: scim_json({}, 429, {"Retry-After": "1"}) for n in range(2, 50)}
    )
    result = run(store, fake, client_kwargs={"max_retries": 3})
    assert result.manifest.status == "partial"
    assert kinds(result)["gave_up"] is True
    assert (
        "HTTP 429"
        in result.manifest.anomalies[[a["kind"] for a in result.manifest.anomalies].index("gave_up")][
            "detail"
        ]
    )
    assert user_ids(result) == expected_ids(10)  # the first page is kept, marked partial


def test_503_then_success_uses_capped_backoff(store: Store) -> None:
    answers = [scim_json({}, 503), scim_json({}, 503)]
    fake = FakeScim(users=25, faults={1: lambda r: answers.pop(0) if answers else None})
    fake.faults[2] = fake.faults[1]
    sleeps: list[float] = []
    result = run(store, fake, sleeps=sleeps)
    assert result.manifest.status == "complete"
    assert user_ids(result) == expected_ids(25)
    assert sleeps == [pytest.approx(0.375), pytest.approx(0.75)]  # base 0.5 * 2**n, equal jitter at 0.5


def test_truncated_json_is_retried(store: Store) -> None:
    cut = [True]

    def truncated(request: httpx.Request) -> httpx.Response | None:
        if cut:
            cut.pop()
            return httpx.Response(
                200,
                content=b'{"schemas": ["' + LIST.encode() + b'"], "Resources": [{"id": "u0',
                headers={"Content-Type": "application/scim+json"},
            )
        return None

    fake = FakeScim(users=25, faults={2: truncated, 3: truncated})
    result = run(store, fake)
    assert result.manifest.status == "complete"
    assert user_ids(result) == expected_ids(25)
    assert result.manifest.origin["client"]["bad_bodies"] == 1


def test_html_login_page_on_first_page_is_an_error(store: Store) -> None:
    login = httpx.Response(
        200, content=b"<html><body>Sign in</body></html>", headers={"Content-Type": "text/html"}
    )
    fake = FakeScim(users=25, faults={1: lambda r: login})
    with pytest.raises(ScimError, match="HTML page") as caught:
        run(store, fake)
    assert TOKEN not in str(caught.value)
    assert not (store.root / "exports").exists()  # nothing published
    assert not (store.root / ".staging" / "extract-resume").exists() or not any(
        (store.root / ".staging" / "extract-resume").rglob("state.json")
    )


def test_html_login_page_mid_crawl_makes_it_partial(store: Store) -> None:
    login = httpx.Response(
        200, content=b"<!DOCTYPE html><html>Sign in</html>", headers={"Content-Type": "text/html"}
    )
    fake = FakeScim(users=25, faults={2: lambda r: login})
    result = run(store, fake)
    assert result.manifest.status == "partial"
    assert kinds(result)["gave_up"] is True


def test_lying_total_results_makes_it_partial(store: Store) -> None:
    fake = FakeScim(users=25, total_lie=40)
    result = run(store, fake)
    assert user_ids(result) == expected_ids(25)
    assert result.manifest.status == "partial"
    assert kinds(result)["items_missing"] is True
    assert result.manifest.total_results == {"Users": 40}


def test_understated_total_results_is_followed(store: Store) -> None:
    fake = FakeScim(users=25, total_lie=12)
    result = run(store, fake)
    assert user_ids(result) == expected_ids(25)
    assert result.manifest.status == "complete"
    assert "total_results_understated" in kinds(result)


def test_past_the_end_page_repeating_page_one_does_not_loop(store: Store) -> None:
    fake = FakeScim(users=30, past_end="first_page")
    result = run(store, fake)
    assert user_ids(result) == expected_ids(30)
    assert result.manifest.status == "complete"
    assert kinds(result) == {"past_end_repeats_page": False}
    assert fake.list_requests == 4  # 3 pages + 1 past the end


def test_server_ignoring_start_index_is_cut_and_partial(store: Store) -> None:
    fake = FakeScim(users=30)
    fake.faults = {
        n: (lambda r: fake._list("Users", httpx.Request("GET", r.url.copy_set_param("startIndex", "1"))))
        for n in range(2, 10)
    }
    result = run(store, fake)
    assert result.manifest.status == "partial"
    assert set(kinds(result)) >= {"page_repeated", "items_missing"}
    assert fake.list_requests == 2


def test_cursor_that_never_ends_is_bounded(store: Store) -> None:
    fake = FakeScim(users=0, endless_cursor=True)
    result = run(store, fake, cursor=True, max_pages=20)
    assert result.manifest.status == "partial"
    assert kinds(result)["runaway_paging"] is True
    assert fake.list_requests == 21


def test_cursor_that_repeats_itself_stops(store: Store) -> None:
    fake = FakeScim(users=25)
    fake.faults = {
        2: lambda r: scim_json(
            {"schemas": [LIST], "Resources": fake.data["Users"][10:20], "nextCursor": r.url.params["cursor"]}
        )
    }
    result = run(store, fake, cursor=True)
    assert result.manifest.status == "partial"
    assert "cursor_loop" in kinds(result)
    assert "items_missing" in kinds(result)


def test_connection_reset_mid_page_is_retried(store: Store) -> None:
    resets = [True]

    def reset(request: httpx.Request) -> httpx.Response | None:
        if resets:
            resets.pop()
            raise httpx.ReadError("Connection reset by peer", request=request)
        return None

    fake = FakeScim(users=25, faults={2: reset, 3: reset})
    result = run(store, fake)
    assert result.manifest.status == "complete"
    assert user_ids(result) == expected_ids(25)
    assert result.manifest.origin["client"]["transport_errors"] == 1


def test_connection_resets_forever_end_partial(store: Store) -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("Connection reset by peer", request=request)

    fake = FakeScim(users=25, faults={n: reset for n in range(2, 20)})
    result = run(store, fake, client_kwargs={"max_retries": 2})
    assert result.manifest.status == "partial"
    assert "connection broken" in str(result.manifest.anomalies)


def test_silent_cap_and_echoed_items_per_page_lose_nothing(store: Store) -> None:
    fake = FakeScim(users=53, cap=7, echo_count=True)
    result = run(store, fake, page_size=20)
    assert user_ids(result) == expected_ids(53)
    assert result.manifest.status == "complete"
    assert "items_per_page_mismatch" in kinds(result)


def test_concurrent_index_paging_fills_gaps(store: Store) -> None:
    fake = FakeScim(users=95)
    once = [True]

    def short(request: httpx.Request) -> httpx.Response | None:
        if request.url.params.get("startIndex") == "21" and once:
            once.pop()
            body = {
                "schemas": [LIST],
                "totalResults": 95,
                "startIndex": 21,
                "Resources": fake.data["Users"][20:24],
            }
            return scim_json(body)
        return None

    fake.faults = dict.fromkeys(range(1, 40), short)
    result = run(store, fake, concurrency=4)
    assert user_ids(result) == expected_ids(95)
    assert result.manifest.status == "complete"
    assert "short_page" in kinds(result)
    asked = [(r.url.params.get("startIndex"), r.url.params.get("count")) for r in fake.requests]
    assert ("25", "6") in asked  # the gap after the short page, sized to meet the page fetched ahead


def test_total_decreasing_mid_crawl_with_index_paging_is_partial(store: Store) -> None:
    fake = FakeScim(users=30)

    def shrink(request: httpx.Request) -> httpx.Response | None:
        del fake.data["Users"][0]  # a deletion before our offset shifts an item past us
        return None

    fake.faults = {2: shrink}
    result = run(store, fake)
    assert result.manifest.status == "partial"
    assert kinds(result)["total_results_changed"] is True


def test_members_left_out_of_list_responses_are_fetched(store: Store) -> None:
    fake = FakeScim(users=12, groups=3, omit_members=True)
    result = run(store, fake, resources=("Users", "Groups"))
    memberships = pl.read_parquet(result.export_path / "memberships.parquet")
    expected = {(f"g{g:03d}", f"u{u:04d}") for g in range(3) for u in range(g, 12, 3)}
    assert set(zip(memberships["group_id"], memberships["member_id"], strict=True)) == expected
    assert result.manifest.origin["members"] == "fetch"
    assert sum(1 for r in fake.requests if r.url.path.startswith("/v2/Groups/")) == 3


def test_token_is_redacted_from_errors(store: Store) -> None:
    echo = scim_json({"detail": f"bad header Bearer {TOKEN}"}, 400)
    fake = FakeScim(users=5, faults={1: lambda r: echo})
    with pytest.raises(ScimError) as caught:
        run(store, fake)
    assert TOKEN not in str(caught.value)
    assert "***" in str(caught.value)


def test_wrong_token_is_an_authentication_error(store: Store) -> None:
    fake = FakeScim(users=5)
    client = fake.client()
    client._token = "wrong"
    with pytest.raises(ScimError, match="authentication failed: HTTP 401"):
        client.get_json("/Users")


def test_rate_limit_spaces_requests() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    fake = FakeScim(users=1)
    from recon.scim.client import ScimClient

    client = ScimClient(
        "https://scim.example.test/v2",
        TOKEN,
        transport=httpx.MockTransport(fake.handler),
        rate_limit=4.0,
        sleep=sleep,
        clock=lambda: now[0],
    )
    for _ in range(5):
        client.get_json("/Users")
    assert sleeps == [pytest.approx(0.25)] * 4


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("12", now) == 12
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now) == 30
    assert parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
