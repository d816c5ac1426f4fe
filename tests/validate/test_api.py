"""The public names of recon.validate, and that reconcile/deltas can import them (no import cycle)."""

from __future__ import annotations

import subprocess
import sys

import recon.validate
from recon.store import Store
from recon.validate import schema_findings_count, validate_export
from tests.validate.helpers import Exports, user


def test_public_names() -> None:
    assert sorted(recon.validate.__all__) == [
        "InjectedFault",
        "MappingSummary",
        "ValidationSummary",
        "inject_schema_faults",
        "read_summary",
        "schema_findings_count",
        "validate_export",
        "validate_mapping",
    ]


def test_schema_findings_count(store: Store, exports: Exports) -> None:
    exports.add([user("a", password="x"), user("b", foo=1), user("c")])
    assert schema_findings_count(store, "app", "c1") is None  # never validated
    validate_export(store, "app")
    assert schema_findings_count(store, "app", "c1") == 2


def test_importable_from_reconcile_in_either_order() -> None:
    code = (
        "import recon.reconcile.run, recon.validate; import recon.validate.export; import recon.reconcile.run"
    )
    for statement in (code, "import recon.validate.export; import recon.reconcile.run"):
        done = subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
