"""Identity providers as systems: Microsoft Entra ID (Graph v1.0) and Okta (Management API).

A system of ``kind = "entra"`` or ``kind = "okta"`` exports to the same layout as a SCIM
system (CONTRACT §3): every provider object is mapped to a SCIM 2.0 resource
(:mod:`recon.sources.mapping`), which becomes ``raw`` and the normalised columns.

- :mod:`recon.config.providers`: the recon.toml keys of each kind.
- :mod:`recon.sources.auth`: tokens (MSAL client credentials; Okta SSWS or private-key JWT).
- :mod:`recon.sources.http`: the provider HTTP client (recon's SCIM client underneath:
  retries, 429/Retry-After, timeouts, redaction) plus token refresh and Okta's rate headers.
- :mod:`recon.sources.entra`, :mod:`recon.sources.okta`: the crawls.
- :mod:`recon.sources.extract`: ``recon extract`` / ``recon discover`` for these kinds.
"""
