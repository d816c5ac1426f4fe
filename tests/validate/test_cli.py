"""``recon validate`` on the command line: output, --json, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.cli import main
from recon.store import Store
from tests.validate.helpers import Exports, user


def test_validate_a_system(store: Store, exports: Exports, capsys: pytest.CaptureFixture[str]) -> None:
    exports.add([user("a", password="x"), user("b")])
    assert main(["validate", "--system", "app", "--data-dir", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("validate app, cycle c1: 2 users, 0 groups (2 shapes): 1 finding\n")
    assert "  declared schemas: rfc7643\n" in out
    assert "  leaked_attribute (first 1 of 1):\n    - User a: password is declared returned: never" in out


def test_threshold_exceeded_exits_1_and_json(
    store: Store, exports: Exports, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exports.add([user("a", password="x")])
    config = tmp_path / "recon.toml"
    config.write_text("[thresholds]\nleaked_attribute = 0\n", encoding="utf-8")
    code = main(
        [
            "validate",
            "--system",
            "app",
            "--cycle",
            "c1",
            "--json",
            "--config",
            str(config),
            "--data-dir",
            str(store.root),
        ]
    )
    assert code == 1
    data = json.loads(capsys.readouterr().out)
    assert data["exceeded"] == ["leaked_attribute"]
    assert data["counts"]["by_kind"] == {"leaked_attribute": 1}


def test_validate_a_mapping(store: Store, exports: Exports, capsys: pytest.CaptureFixture[str]) -> None:
    exports.add([user("s1")], system="idp")
    exports.add([user("t1", externalId="s1", userName="S1@example.com")], system="app")
    assert main(["validate", "--source", "idp", "--target", "app", "--data-dir", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("validate mapping idp -> app, cycle c1: 9 attributes, 1 finding\n")
    assert "cross_system_case_collision" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate"], "give --system NAME (an export) or --source A --target B"),
        (["validate", "--system", "a", "--source", "b"], "not both"),
        (["validate", "--system", "nope"], "no complete full export of system 'nope'"),
        (["validate", "--system", "../x"], "invalid system name"),
        (["validate", "--source", "idp", "--target", "idp"], "both 'idp'"),
    ],
)
def test_usage_and_data_errors_exit_2(
    store: Store, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--data-dir", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
