"""The provider client: faults a real server (or the fakes) would not produce, on a mock transport."""

from __future__ import annotations

import httpx
import pytest

from recon.config.providers import OktaSettings
from recon.errors import ScimError
from recon.sources.auth import OktaSsws
from recon.sources.http import ProviderClient, RateHeaders

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


def test_a_body_cut_short_is_asked_for_again_with_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        tokens.append(request.headers.get("Authorization"))
        if len(tokens) == 1:
            return httpx.Response(
                200, content=b'[{"id": "00u1"', headers={"Content-Type": "application/json"}
            )
        return httpx.Response(200, json=[{"id": "00u1"}])

    _, body = client(httpx.MockTransport(answer), monkeypatch).get("/api/v1/users")
    assert body == [{"id": "00u1"}]
    assert tokens == [f"SSWS {TOKEN}", f"SSWS {TOKEN}"]


def test_provider_bodies_are_held_to_recons_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """RECON_MAX_RESPONSE_BYTES and RECON_MAX_JSON_DEPTH apply to Graph and Okta answers too."""
    big = httpx.Response(200, json=[{"id": "00u1", "profile": {"x": "y" * 4000}}])
    deep = httpx.Response(200, content=b"[" * 100 + b"]" * 100, headers={"Content-Type": "application/json"})
    monkeypatch.setenv("RECON_MAX_RESPONSE_BYTES", "1KiB")
    with pytest.raises(ScimError, match="RECON_MAX_RESPONSE_BYTES"):
        client(httpx.MockTransport(lambda r: big), monkeypatch).get("/api/v1/users")
    monkeypatch.delenv("RECON_MAX_RESPONSE_BYTES")
    with pytest.raises(ScimError, match=r"depth|nest"):
        client(httpx.MockTransport(lambda r: deep), monkeypatch).get("/api/v1/users")
