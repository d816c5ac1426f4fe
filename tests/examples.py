"""How many examples a property test draws: its default, times ``RECON_TEST_EXAMPLES`` when set.

The default suite keeps each property test to a count that finds what it has found so far in
seconds; a search deeper than CI's is one variable away, e.g.
``RECON_TEST_EXAMPLES=10 pytest -p no:cacheprovider tests/validate/test_differential.py``.
"""

from __future__ import annotations

import os

ENVIRONMENT = "RECON_TEST_EXAMPLES"


def examples(default: int) -> int:
    """``default`` times the positive integer in ``RECON_TEST_EXAMPLES`` (1 when unset)."""
    text = os.environ.get(ENVIRONMENT, "").strip()
    if not text:
        return default
    try:
        factor = int(text)
    except ValueError:
        raise ValueError(f"{ENVIRONMENT}={text!r}: expected a positive integer") from None
    if factor < 1:
        raise ValueError(f"{ENVIRONMENT}={text!r}: expected a positive integer")
    return default * factor
