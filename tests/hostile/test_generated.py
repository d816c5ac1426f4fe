"""Generated hostile input (hypothesis): the depth scanner agrees with a reference parser on any
JSON text cut anywhere, and any generated file either imports exactly or fails in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.limits import DepthScanner, LimitExceeded, check_depth

from .helpers import LIST, USER, recon

_TRICKY = st.text(alphabet='[]{}"\\ab\n\x00é', max_size=6)
_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY, inner, max_size=3),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(
    value=_JSON,
    wrap=st.integers(0, 12),
    limit=st.integers(1, 12),
    cuts=st.lists(st.integers(1, 7), max_size=20),
)
def test_depth_scanner_agrees_with_the_parser_wherever_the_text_is_cut(
    value: Any, wrap: int, limit: int, cuts: list[int]
) -> None:
    for _ in range(wrap):
        value = [value]
    text = json.dumps(value).encode()
    scanner = DepthScanner(limit, "t")
    over = False
    position, sizes = 0, cuts or [len(text)]
    try:
        index = 0
        while position < len(text):
            size = sizes[index % len(sizes)]
            scanner.feed(text[position : position + size])
            position += size
            index += 1
    except LimitExceeded:
        over = True
    assert over == (_depth(value) > limit)


def _refusal(check: Any) -> str | None:
    try:
        check()
    except LimitExceeded as exc:
        return str(exc)
    return None


@settings(max_examples=400, deadline=None)
@given(
    value=_JSON,
    wrap=st.integers(0, 40),
    limit=st.integers(1, 40),
    indent=st.sampled_from([None, 1]),
    cut=st.integers(0, 60),
    key=st.sampled_from(["k", "k[", "\\"]),
)
def test_check_depth_refuses_exactly_what_the_scanner_refuses(
    value: Any, wrap: int, limit: int, indent: int | None, cut: int, key: str
) -> None:
    for number in range(wrap):  # lists and objects in turn: two levels go in one turn of pairs
        value = [value] if number % 2 else {key: value}
    text = json.dumps(value, indent=indent, ensure_ascii=False).encode()
    text = text[: len(text) - cut] if cut < len(text) else text  # cut short: no longer valid JSON
    exact = _refusal(lambda: DepthScanner(limit, "body").feed(text))
    assert _refusal(lambda: check_depth(text, limit, "body")) == exact
    if cut == 0:
        assert (exact is not None) == (_depth(value) > limit)


_RESOURCE = st.fixed_dictionaries(
    {"schemas": st.just([USER]), "id": st.text(min_size=1, max_size=8), "userName": st.text(max_size=8)},
    optional={"active": st.booleans() | st.text(max_size=5), "title": _TRICKY, "x": _JSON},
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    resources=st.lists(_RESOURCE, max_size=4), shape=st.sampled_from(["ndjson", "array", "list", "pretty"])
)
def test_a_generated_file_imports_exactly_or_fails_in_one_line(
    tmp_path: Path, resources: list[dict[str, Any]], shape: str
) -> None:
    path = tmp_path / "f.json"
    if shape == "ndjson":
        path.write_text("".join(json.dumps(r) + "\n" for r in resources) or "\n")
    elif shape == "array":
        path.write_text(json.dumps(resources))
    elif shape == "list":
        path.write_text(
            json.dumps({"schemas": [LIST], "totalResults": len(resources), "Resources": resources})
        )
    else:
        path.write_text(json.dumps(resources[0] if resources else {}, indent=2))
    data = tmp_path / "d"
    outcome = recon("import", str(path), "--system", "s", "--cycle", "c1", "--data-dir", str(data), "--force")
    assert "Traceback" not in outcome.stderr
    if outcome.code == 0:
        manifest = json.loads(next(data.rglob("manifest.json")).read_text())
        expected = 1 if shape == "pretty" else len(resources)
        assert manifest["items_received"]["Users"] == expected  # every resource read, none dropped
    else:
        assert outcome.code == 2 and len(outcome.lines) == 1, outcome.stderr
