"""The store alone names the folders of the data layout."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import recon
from recon.errors import UsageError
from recon.store import Store

_RECON = Path(recon.__file__).parent
_PARTITION_KEYS = ("system=", "cycle=", "kind=", "source=", "target=", "head=", "run=")
_FOLDERS = {
    "exports",
    "findings",
    "deltas",
    "capabilities",
    "validation",
    "bulk",
    "plans",
    "truth",
    "scim",
    ".staging",
    ".tmp",
    "extract-resume",
}


def _modules() -> list[Path]:
    return sorted(p for p in _RECON.rglob("*.py") if p.name != "store.py")


def _folder_joins(tree: ast.AST) -> list[str]:
    """Partition names built in f-strings, and folder names joined onto a path with ``/``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and str(first.value).startswith(_PARTITION_KEYS):
                found.append(f"line {node.lineno}: f-string {first.value!r}…")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            right = node.right
            if isinstance(right, ast.Constant) and right.value in _FOLDERS:
                found.append(f"line {node.lineno}: / {right.value!r}")
    return found


def test_no_module_but_the_store_names_a_layout_folder() -> None:
    offenders = {
        str(path.relative_to(_RECON)): joins
        for path in _modules()
        if (joins := _folder_joins(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}, "ask recon.store.Store for the folder instead"


def test_every_folder_of_the_store_is_under_its_root_and_named_safely(tmp_path: Path) -> None:
    store = Store(tmp_path)
    paths = {
        store.validation_dir("idp", "c1"): "validation/system=idp/cycle=c1",
        store.mapping_dir("idp", "app"): "validation/source=idp/target=app",
        store.bulk_run_dir("app", "r1"): "bulk/system=app/run=r1",
        store.plan_dir("idp", "app", "c1"): "plans/source=idp/target=app/cycle=c1",
        store.resume_dir("idp", "c1", "full"): ".staging/extract-resume/idp/c1.full",
        store.truth_findings_dir("idp", "app", "c1"): "truth/findings/source=idp/target=app/cycle=c1",
        store.truth_deltas_dir("idp", "c2"): "truth/deltas/system=idp/head=c2",
        store.truth_schema_dir("idp", "c1"): "truth/schema/system=idp/cycle=c1",
        store.scim_dir("idp", "c1", "delta"): "scim/system=idp/cycle=c1/kind=delta",
    }
    for path, expected in paths.items():
        assert path == tmp_path / expected
    for make in (
        lambda: store.validation_dir("..", "c1"),
        lambda: store.bulk_run_dir("app", "a/b"),
        lambda: store.resume_dir("idp", "../c", "full"),
        lambda: store.truth_findings_dir("idp", "app", ""),
    ):
        with pytest.raises(UsageError):
            make()


def test_findings_cycles_lists_the_partitions_with_findings(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for source, target, cycle in (("idp", "b", "c2"), ("idp", "a", "c1"), ("idp", "a", "c3")):
        folder = store.findings_dir(source, target, cycle)
        folder.mkdir(parents=True)
        (folder / "findings.parquet").write_bytes(b"")
    store.findings_dir("idp", "a", "c4").mkdir()  # no findings.parquet: not listed
    assert store.findings_cycles() == [("idp", "a", "c1"), ("idp", "a", "c3"), ("idp", "b", "c2")]
    assert store.findings_cycles("idp", "b") == [("idp", "b", "c2")]
