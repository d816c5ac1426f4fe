"""`recon reconcile` says, in one line, when an export it read has schema findings (issue #9)."""

from __future__ import annotations

import pytest

from recon.cli import main
from recon.store import Store
from tests.reconcile.builders import CYCLE, user, write_export


@pytest.fixture
def data(store: Store) -> Store:
    write_export(store, "idp", [user("u1", "ann"), user("u2", "bob")])
    # two accounts whose userNames differ only by case: a collision under RFC 7643's caseExact=false
    write_export(store, "app", [user("t1", "ann", external_id="u1"), user("t2", "ANN"), user("t3", "bob")])
    return store


def test_no_warning_before_the_export_is_validated(data: Store, capsys: pytest.CaptureFixture[str]) -> None:
    main(["reconcile", "--source", "idp", "--target", "app", "--data-dir", str(data.root)])
    assert "schema finding" not in capsys.readouterr().err


def test_one_warning_line_with_the_count_after_validate(
    data: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--system", "app", "--data-dir", str(data.root)]) in (0, 1)
    assert main(["validate", "--system", "idp", "--data-dir", str(data.root)]) == 0
    capsys.readouterr()
    main(["reconcile", "--source", "idp", "--target", "app", "--data-dir", str(data.root), "--json"])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "schema finding" in line]
    assert lines == [
        f"recon: warning: the export of app at cycle {CYCLE} has 2 schema findings that could distort "
        f"these results (recon validate --system app --cycle {CYCLE})"
    ]
    assert captured.out.lstrip().startswith("{")  # --json stdout stays parseable
