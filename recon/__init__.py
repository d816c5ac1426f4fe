"""recon: evidence that directory sync works (SCIM 2.0 exports, reconciliation, delta correctness)."""

__version__ = "0.1.0"
