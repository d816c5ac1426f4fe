"""The provider client: faults a real server (or the fakes) would not produce, on a mock transport."""

from __future__ import annotations

import httpx
import pytest

from recon.errors import ScimError
from recon.sources.auth import OktaSsws
from recon.sources.http import ProviderClient, RateHeaders
from recon.sources.settings import OktaSettings

TOKEN = "00okta-secret-token-0123456789"


def client(
    handler: httpx.MockTransport, monkeypatch: pytest.MonkeyPatch, **options: object
) -> ProviderClient:
    monkeypatch.setenv("T", TOKEN)
    auth = OktaSsws("okta", OktaSettings(base_url="https://acme.okta.com", token_env="T"))
    return ProviderClient("https://acme.okta.com", auth, transport=handler, sleep=lambda s: None, **options)  # type: ignore[arg-type]


def test_a_next_link_to_another_host_is_refused_before_the_token_goes_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.host))
        return httpx.Response(
            200,
            json=[{"id": "00u1"}],
            headers={"Link": '<https://evil.example/api/v1/users?after=00u1>; rel="next"'},
        )

    pages = client(httpx.MockTransport(answer), monkeypatch).pages(
        "/api/v1/users", {}, lambda r, b: r.links.get("next", {}).get("url")
    )
    with pytest.raises(ScimError, match=r"refused to follow a link to https://evil\.example") as caught:
        list(pages)
    assert seen == ["acme.okta.com"]
    assert TOKEN not in str(caught.value)


def test_a_bare_429_waits_for_x_rate_limit_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(
                429, json={"errorCode": "E0000047"}, headers={"X-Rate-Limit-Reset": "1000030"}
            )
        return httpx.Response(200, json=[])

    transport = RateHeaders(httpx.MockTransport(answer), clock=lambda: 1_000_000.0)
    monkeypatch.setenv("T", TOKEN)
    auth = OktaSsws("okta", OktaSettings(base_url="https://acme.okta.com", token_env="T"))
    provider = ProviderClient("https://acme.okta.com", auth, transport=transport, sleep=waits.append)
    provider.scim._sleep = waits.append  # the retry policy's waits
    provider.get("/api/v1/users")
    assert len(waits) == 1 and 31 <= waits[0] < 31.2  # reset - now + 1 s, plus the client's jitter


def test_a_401_on_an_ssws_token_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        assert request.headers["Authorization"] == f"SSWS {TOKEN}"
        return httpx.Response(401, json={"errorCode": "E0000011", "errorSummary": "Invalid token provided"})

    with pytest.raises(ScimError, match="HTTP 401") as caught:
        client(httpx.MockTransport(answer), monkeypatch).get("/api/v1/users")
    assert calls["n"] == 1
    assert TOKEN not in str(caught.value)
