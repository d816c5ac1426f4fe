"""The constants Python shares with the C walker and with SQL agree, and a walker compiled from
another _signatures.c than the one in the tree fails loudly, naming the build hook."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from recon.engine import load_sql
from recon.validate import signatures
from recon.validate.specs import CHECK_BITS

_SOURCE = Path(signatures.__file__).with_name("_signatures.c")
# the walker's #define -> the name recon.validate.signatures gives the same mode
_MODES = {
    "MODE_VERBATIM": "_VERBATIM",
    "MODE_DATETIME": "_DATETIME",
    "MODE_COUNTED": "_COUNTED",
    "MODE_RAW_ARRAY": "_RAW",
}
# validate_shapes' name of each check's positions -> the CHECK_BITS key of its bit
_SLOTS = {
    "nonempty": "nonempty",
    "datetime": "datetime",
    "canonical": "canonical",
    "primary_one": "primary",
    "element_type": "type",
    "generic": "generic",
}


def test_the_walker_modes_in_c_are_the_ones_python_sends() -> None:
    defined = dict(re.findall(r"^#define (MODE_\w+) (\d+)$", _SOURCE.read_text(), re.M))
    assert set(defined) == set(_MODES)
    for c_name, py_name in _MODES.items():
        assert int(defined[c_name]) == getattr(signatures, py_name), c_name


def test_the_check_bits_in_sql_are_the_ones_python_sets() -> None:
    query = load_sql("validate_shapes").query
    slots = dict(re.findall(r"c & (\d+) <> 0\] AS (\w+)", query))
    assert {int(bit): _SLOTS[name] for bit, name in slots.items()} == {v: k for k, v in CHECK_BITS.items()}
    used = {int(bit) for bit in re.findall(r"\bc & (\d+) <> 0", query)}
    assert used == set(CHECK_BITS.values())


def test_the_compiled_walker_was_built_from_this_source() -> None:
    if not signatures.compiled():
        pytest.skip("the compiled walker is not built here (no C compiler at install time)")
    from recon.validate import _signatures

    assert hashlib.sha256(_SOURCE.read_bytes()).hexdigest() == _signatures.SOURCE_SHA256


def test_a_walker_from_another_source_fails_naming_the_build_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not signatures.compiled():
        pytest.skip("the compiled walker is not built here (no C compiler at install time)")
    edited = tmp_path / "_signatures.c"
    edited.write_bytes(_SOURCE.read_bytes() + b"/* an edit not rebuilt */\n")
    monkeypatch.setattr(signatures, "_SOURCE", edited)
    with pytest.raises(signatures.StaleWalker, match=r"recon/validate/build_hook\.py"):
        signatures.check_walker_build()
