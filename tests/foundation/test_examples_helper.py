"""tests/examples.py: RECON_TEST_EXAMPLES multiplies a property test's default number of examples."""

from __future__ import annotations

import pytest

from tests.examples import ENVIRONMENT, examples


def test_the_default_unless_the_variable_multiplies_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    assert examples(20) == 20
    monkeypatch.setenv(ENVIRONMENT, "")
    assert examples(20) == 20
    monkeypatch.setenv(ENVIRONMENT, " 3 ")
    assert examples(20) == 60


@pytest.mark.parametrize("text", ["0", "-2", "x", "1.5"])
def test_anything_but_a_positive_integer_is_refused(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(ENVIRONMENT, text)
    with pytest.raises(ValueError, match=f"{ENVIRONMENT}='{text}': expected a positive integer"):
        examples(20)
