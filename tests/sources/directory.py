"""Simulator data as an identity provider's directory, rendered as Graph and Okta objects.

``Directory.from_export(store, "idp", cycle)`` reads the simulator's IdP export (SCIM resources in
``raw``); :mod:`recon.simulate.provider_view` owns it. The renderers are the inverse of the
providers' default SCIM mappings as the providers document them, written apart from
:mod:`recon.sources.mapping`, so a round trip through recon tests that module; the demo serves
the same renderings:

- Graph user and group: :mod:`recon.simulate.graph_pages` (``userPrincipalName``,
  ``accountEnabled``, ``givenName``, ``surname``, ``displayName``, ``mail``, ``otherMails``,
  ``jobTitle``, ``department``, ``employeeId``, ``mailNickname``, ``createdDateTime`` and the
  ``manager`` relationship);
- Okta user and group: :mod:`recon.simulate.okta_pages` (``status`` ACTIVE, or DEPROVISIONED
  when inactive, ``created``, ``lastUpdated``, ``profile``).
"""

from __future__ import annotations

from recon.simulate.graph_pages import graph_group, graph_user
from recon.simulate.okta_pages import okta_group, okta_user
from recon.simulate.provider_view import Directory

__all__ = ["Directory", "graph_group", "graph_user", "okta_group", "okta_user"]
