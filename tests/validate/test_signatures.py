"""The signature walker behind validate's speed: what two resources share a signature, and what never.

Validate checks one representative per signature, so a signature that merges two resources
whose findings differ is a wrong result. These tests pin the rule from both sides (texts that
must share a signature, texts that must not) and feed the walker hostile text; the differential
test (test_differential.py) checks the findings end to end, through both the compiled walker and
the pure path.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.validate import signatures
from recon.validate.declared import declared_for
from recon.validate.signatures import compiled, distinct_resources, signature_spec
from recon.validate.specs import value_checks

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SPEC = signature_spec(value_checks(declared_for(None)).params())
assert SPEC is not None

needs_walker = pytest.mark.skipif(not compiled(), reason="recon/validate/_signatures.c was not compiled here")


def _compiler() -> str | None:
    return next((c for c in ("cc", "gcc", "clang") if shutil.which(c)), None)


def test_the_walker_is_compiled_wherever_a_compiler_is() -> None:
    compiler = _compiler()
    if compiler is None:
        pytest.skip("no C compiler on PATH: validate takes its pure path here")
    assert compiled(), (
        f"{compiler} is on PATH but recon.validate._signatures did not build (see hatch_build.py)"
    )


def _groups(tmp_path: Path, texts: list[str | None], resource_type: str = "User") -> list[list[int]]:
    """The rows of ``texts`` grouped by signature (each group in row order)."""
    path = tmp_path / "resources.parquet"
    ids = [f"r{i}" for i in range(len(texts))]
    pq.write_table(pa.table({"id": ids, "raw": pa.array(texts, pa.string())}), path)
    found = distinct_resources(path, resource_type[0], SPEC[resource_type])  # type: ignore[index]
    by_rep: dict[int, list[int]] = {}
    for rep, rid in zip(
        found.members.column("rep").to_pylist(), found.members.column("id").to_pylist(), strict=True
    ):
        by_rep.setdefault(rep, []).append(int(rid[1:]))
    weights = found.representatives.column("weight").to_pylist()
    assert sorted(len(rows) for rows in by_rep.values()) == sorted(weights)
    return sorted(by_rep.values())


def _user(**attributes: Any) -> dict[str, Any]:
    return {"schemas": [USER], "id": "x", "userName": "someone", **attributes}


def _same(tmp_path: Path, *resources: Any) -> bool:
    texts = [r if isinstance(r, str) else json.dumps(r, separators=(",", ":")) for r in resources]
    return len(_groups(tmp_path, texts)) == 1


@needs_walker
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"userName": "alice"}, {"userName": "bob"}),
        ({"emails": [{"value": "a@x", "type": "work"}]}, {"emails": [{"value": "b@y", "type": "work"}]}),
        (
            {"meta": {"lastModified": "2025-01-01T00:00:00Z"}},
            {"meta": {"lastModified": "2026-12-31T23:59:59.5+14:00"}},
        ),
        ({"active": True, "x": 1}, {"active": True, "x": 987654321}),
        (
            {"groups": [{"value": "a"}, {"value": "b"}]},
            {"groups": [{"value": "a"}, {"value": "b"}, {"value": "c"}]},
        ),
    ],
    ids=["other string", "email value", "valid dateTimes", "other integer", "repeats past two"],
)
def test_resources_that_differ_only_where_no_check_looks_share_a_signature(
    tmp_path: Path, a: dict[str, Any], b: dict[str, Any]
) -> None:
    assert _same(tmp_path, _user(**a), _user(**b))


@needs_walker
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"userName": "alice"}, {"userName": ""}),
        ({"userName": "alice"}, {"UserName": "alice"}),
        ({"active": True}, {"active": False}),
        ({"x": 1}, {"x": -1}),
        ({"x": 1}, {"x": 1.5}),
        ({"x": 1}, {"x": "1"}),
        ({"x": None}, {"x": []}),
        ({"x": {}}, {"x": [{}]}),
        ({"a": 1, "b": 1}, {"b": 1, "a": 1}),
        ({"emails": [{"value": "a", "type": "work"}]}, {"emails": [{"value": "a", "type": "Work"}]}),
        ({"Emails": [{"value": "a", "TYPE": "work"}]}, {"Emails": [{"value": "a", "TYPE": "robot"}]}),
        (
            {"meta": {"lastModified": "2025-01-01T00:00:00Z"}},
            {"meta": {"lastModified": "2025-02-30T00:00:00Z"}},
        ),
        (
            {"meta": {"lastModified": "2025-02-28T00:00:00Z"}},
            {"meta": {"lastModified": "12025-02-28T00:00:00Z"}},
        ),
        ({"meta": {"created": "2025-01-01T00:00:00Z"}}, {"meta": {"created": "2025-01-01T00:00:00+15:00"}}),
        (
            {"emails": [{"value": "a", "primary": True}, {"value": "b", "primary": True}]},
            {
                "emails": [
                    {"value": "a", "primary": True},
                    {"value": "b", "primary": True},
                    {"value": "c", "primary": True},
                ]
            },
        ),
        ({"schemas": [USER]}, {"schemas": [USER, USER]}),
        ({"schemas": [USER]}, {"schemas": [USER.upper()]}),
        ({"x": 12345678901234567890}, {"x": 98765432109876543210}),
        ({"k": "a"}, {"k\\u0041": "a"}),
    ],
    ids=[
        "empty string",
        "name case",
        "boolean",
        "sign",
        "decimal",
        "string for number",
        "null or empty array",
        "object or array of it",
        "key order",
        "canonical value",
        "canonical value under a name in another case",
        "no such day",
        "five-digit year",
        "offset past 14:00",
        "primaries counted exactly",
        "schemas repeated",
        "schemas spelled",
        "numbers past 18 digits",
        "escaped key",
    ],
)
def test_resources_that_differ_where_a_finding_may_differ_do_not(
    tmp_path: Path, a: dict[str, Any], b: dict[str, Any]
) -> None:
    texts = [json.dumps(_user(**a), separators=(",", ":")), json.dumps(_user(**b), separators=(",", ":"))]
    texts = [t.replace("\\\\u0041", "\\u0041") for t in texts]  # keep the escape in the text
    assert len(_groups(tmp_path, texts)) == 2


@needs_walker
def test_texts_out_of_the_plain_forms_are_their_own_signature(tmp_path: Path) -> None:
    deep = '{"a":' * 60 + "1" + "}" * 60
    wide = json.dumps(_user(roles=[{"value": str(i), "n": [0] * i} for i in range(80)]))
    odd = [
        '{"a":1,}',  # not JSON
        '{"a":"\\ud800"}',  # a lone surrogate
        '{"é":1}',  # a key beyond ASCII
        "[1]",  # not an object
        '{"a":1} x',  # trailing text
        '{"a":01}',  # a number JSON does not allow
        deep,
        wide,
        None,
    ]
    texts: list[str | None] = [t for t in odd for _ in range(2)]
    groups = _groups(tmp_path, texts)
    # each text with its own copy: exactly as many signatures as distinct texts
    assert groups == [[2 * i, 2 * i + 1] for i in range(len(odd))]


@needs_walker
def test_a_group_of_many_members_is_walked_once_per_distinct_member(tmp_path: Path) -> None:
    members = [{"value": f"u{i}", "type": "User"} for i in range(5000)]
    texts = [
        json.dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "id": "g",
                "displayName": "G",
                "members": members[:n],
            }
        )
        for n in (2, 3, 5000)
    ]
    robot = json.dumps(
        {
            "schemas": [],
            "id": "g",
            "displayName": "G",
            "members": [*members[:3], {"value": "r", "type": "Robot"}],
        }
    )
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c", "d"], "raw": [*texts, robot]}), path)
    found = distinct_resources(path, "G", SPEC["Group"])  # type: ignore[index]
    assert found.representatives.column("weight").to_pylist() == [3, 1]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")))
def test_any_text_gets_a_signature_and_equal_texts_the_same(text: str) -> None:
    if not compiled():
        pytest.skip("recon/validate/_signatures.c was not compiled here")
    raws = pa.array([text, "{}", text], pa.string())
    codes, sigs, firsts = signatures._walker(  # type: ignore[misc]
        raws.buffers()[2] or b"",
        raws.buffers()[1],
        b"",
        0,
        3,
        False,
        SPEC["User"],  # type: ignore[index]
    )
    numbers = pa.Array.from_buffers(pa.int32(), 3, [None, pa.py_buffer(codes)]).to_pylist()
    assert numbers[0] == numbers[2]
    assert len(sigs) == len(firsts) == len(set(numbers))
