"""Config keys of the provider kinds and the mapping overrides (no network)."""

from __future__ import annotations

from typing import Any

import pytest

from recon.config import parse_config
from recon.errors import ConfigError
from recon.extract.normalize import normalise
from recon.sources.mapping import ENTRA_USER, OKTA_USER, mapping_for

ENTRA = {"kind": "entra", "tenant_id": "t", "client_id": "c", "client_secret_env": "S"}
OKTA = {"kind": "okta", "base_url": "https://acme.okta.com", "token_env": "T"}


def system(table: dict[str, Any]) -> Any:
    return parse_config({"systems": {"idp": table}}).system("idp")


def test_kinds_parse_with_their_keys_and_defaults() -> None:
    entra = system({**ENTRA, "app_id": "a"})
    assert entra.kind == "entra" and entra.base_url == "https://graph.microsoft.com/v1.0"
    assert entra.page_size == 999 and entra.source.login_url == "https://login.microsoftonline.com"
    okta = system(OKTA)
    assert okta.kind == "okta" and okta.page_size == 200 and okta.source.base_url == "https://acme.okta.com"
    assert system({"base_url": "https://scim.example.com"}).kind == "scim"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({**ENTRA, "client_secret": "x"}, "secrets do not belong"),
        ({**ENTRA, "base_url": "https://x"}, "unknown key 'base_url'"),
        ({**ENTRA, "client_certificate_file": "c.pem"}, "exactly one of client_secret_env"),
        ({**ENTRA, "login_url": "http://127.0.0.1:1"}, "must be an https URL"),
        ({**OKTA, "private_key_file": "k.pem"}, "exactly one of token_env"),
        ({"kind": "okta", "base_url": "https://a", "private_key_file": "k.pem"}, "client_id: required"),
        ({"kind": "ldap"}, "kind = 'ldap': use one of scim, entra, okta"),
        ({**OKTA, "mapping": {"userName": 3}}, "must be a table of SCIM attribute"),
        ({**OKTA, "app_idd": "x"}, r"unknown key 'app_idd' \(did you mean 'app_id'\?\)"),
        ({**ENTRA, "transitive_members": "yes"}, "transitive_members must be true or false, not string"),
        ({**OKTA, "page_size": 0}, "page_size must be a whole number >= 1"),
        ({**OKTA, "scopes": ["okta.users.read", 1]}, r"scopes\[1\] must be a string"),
        ({"kind": 3}, "kind must be a string"),
    ],
)
def test_bad_provider_config_names_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        system(table)


GRAPH_USER = {
    "id": "u1",
    "userPrincipalName": "ada@contoso.com",
    "accountEnabled": False,
    "givenName": "Ada",
    "surname": "Lovelace",
    "mail": "ada@contoso.com",
    "jobTitle": "Engineer",
    "department": "R&D",
    "employeeId": "42",
    "manager": "u0",
    "mailNickname": "ada",
    "businessPhones": ["+1 555"],
    "onPremisesExtensionAttributes": {"extensionAttribute1": "E-7", "extensionAttribute2": None},
    "usageLocation": "GB",
}


def test_entra_defaults_follow_customappsso() -> None:
    resource = mapping_for("entra", {}, {}, "t").user(GRAPH_USER, "2024-01-01T00:00:00Z", None)
    row = normalise(resource).row
    assert (row["user_name"], row["active"], row["external_id"], row["title"]) == (
        "ada@contoso.com",
        False,
        "ada",
        "Engineer",
    )
    assert (row["employee_number"], row["department"], row["manager_id"]) == ("42", "R&D", "u0")
    assert row["emails"] == [{"value": "ada@contoso.com", "type": "work", "primary": True}]
    assert resource["name"]["formatted"] == "Ada Lovelace"
    assert resource["phoneNumbers"] == [{"value": "+1 555", "type": "work", "primary": True}]
    # unmapped attributes are kept, mapped ones are not repeated
    assert resource[ENTRA_USER]["usageLocation"] == "GB"
    assert "userPrincipalName" not in resource[ENTRA_USER]


def test_overrides_replace_and_drop_single_entries() -> None:
    mapping = mapping_for(
        "entra",
        {"employeeNumber": "onPremisesExtensionAttributes.extensionAttribute1", "title": ""},
        {},
        "t",
    )
    resource = mapping.user(GRAPH_USER, None, None)
    row = normalise(resource).row
    assert row["employee_number"] == "E-7" and row["title"] is None
    assert resource[ENTRA_USER]["jobTitle"] == "Engineer"  # no longer mapped: kept
    assert "onPremisesExtensionAttributes" in mapping.user_select()
    with pytest.raises(ConfigError, match="not a SCIM attribute recon maps"):
        mapping_for("entra", {"favouriteColour": "x"}, {}, "t")
    with pytest.raises(ConfigError, match="neither a provider attribute path"):
        mapping_for("okta", {"title": "profile.title; drop"}, {}, "t")


def test_okta_status_decides_active() -> None:
    mapping = mapping_for("okta", {}, {}, "t")
    for status, active in (
        ("ACTIVE", True),
        ("DEPROVISIONED", False),
        ("SUSPENDED", False),
        ("STAGED", True),
    ):
        user = {
            "id": "00u1",
            "status": status,
            "profile": {"login": "a@b.c", "costCenter": "CC1", "nick": "x"},
        }
        resource = mapping.user(user, None, None)
        assert resource["active"] is active
        assert resource["externalId"] == "00u1"
        assert resource[OKTA_USER]["profile"] == {"nick": "x"}


@pytest.mark.parametrize("token", ["abc def", "abc\ndef", "abcé"])
def test_a_provider_token_that_cannot_travel_in_a_header_is_refused(
    token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recon.sources.auth import OktaSsws

    monkeypatch.setenv("T", token)
    okta = system(OKTA)
    with pytest.raises(ConfigError, match="token_env") as caught:
        OktaSsws("idp", okta.source)
    assert token not in str(caught.value)
