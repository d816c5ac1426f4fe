"""The constants Python shares with the C walker and with SQL agree."""

from __future__ import annotations

import re
from pathlib import Path

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
