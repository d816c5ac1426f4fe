"""The shared scim2-server fixtures really serve what they seeded."""

from __future__ import annotations

import pytest
from scim_server import ScimServer

pytestmark = pytest.mark.live


@pytest.mark.parametrize(("name", "seeded"), [("rich_scim_server", 2000), ("limited_scim_server", 500)])
def test_seeded_server_serves_every_user_and_group(
    name: str, seeded: int, request: pytest.FixtureRequest
) -> None:
    server: ScimServer = request.getfixturevalue(name)
    assert len(server.users) == seeded and len(server.groups) == 50
    with server.http() as client:
        users = client.get("/Users", params={"count": 1}).json()
        groups = client.get("/Groups", params={"count": 1}).json()
        config = client.get("/ServiceProviderConfig").json()
    assert users["totalResults"] == seeded
    assert groups["totalResults"] == 50
    assert config["bulk"]["supported"] is (name == "rich_scim_server")


def test_bearer_token_is_required(rich_scim_server: ScimServer) -> None:
    with rich_scim_server.http() as client:
        client.headers["Authorization"] = "Bearer wrong"
        assert client.get("/Users").status_code == 401


def test_patch_bumps_last_modified(scim_server) -> None:  # type: ignore[no-untyped-def]
    server = scim_server("limited", users=3, groups=1)
    user_id = server.user_ids[1]
    before = server.get_user(user_id)["meta"]["lastModified"]
    server.patch_user(user_id, {"title": "Changed"})
    after = server.get_user(user_id)
    assert after["title"] == "Changed"
    assert after["meta"]["lastModified"] > before
    assert server.members[server.group_ids[0]] == [(uid, "User") for uid in server.user_ids]
