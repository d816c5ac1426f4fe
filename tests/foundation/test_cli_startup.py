"""`recon --help`, `--version` and usage errors must not pay for the heavy libraries: the command
modules import their domain modules inside the functions that run them (see recon/cli/__init__.py)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("duckdb", "polars", "pyarrow", "pandera", "httpx", "altair", "vl_convert")
COMMANDS = (
    "demo",
    "simulate",
    "import",
    "discover",
    "extract",
    "validate",
    "reconcile",
    "deltas",
    "probe",
    "bulk",
    "history",
    "report",
)


def _loaded_after(code: str) -> list[str]:
    """Top-level heavy packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded_after("import recon.cli") == []


def test_help_and_usage_errors_load_no_heavy_library() -> None:
    runs = [
        "from recon.cli import main; assert main(['--help']) == 0",
        "from recon.cli import main; assert main(['validate', '--help']) == 0",
        "from recon.cli import main; assert main(['reconcile', '--source', 'a']) == 2",
    ]
    for code in runs:
        assert _loaded_after(code) == [], code


def test_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "recon", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    commands = done.stdout.partition("Commands:")[2]
    listed = {line.split()[0] for line in commands.splitlines() if line.strip()}
    assert set(COMMANDS) <= listed, done.stdout
