"""Running recon in a child process with its memory capped, and building hostile inputs.

A hostile input that regresses must fail the test, not take the shared machine down: every
command that reads one runs in a subprocess whose data segment ``resource.setrlimit`` caps
(:data:`MEMORY_CAP`), and reports its exit code, stderr and peak RSS.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# private writable memory of the child (RLIMIT_DATA); some 1.2 GB of it is address space that
# DuckDB, Arrow and their threads reserve without touching, so what a regression may really use is
# well under the cap; tests assert the peak RSS they expect on top
MEMORY_CAP = 2 * 2**30
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

_CHILD = """
import resource, sys
cap = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
from recon.cli import main
code = main(sys.argv[2:])
# VmHWM, not ru_maxrss: the high-water mark getrusage reports survives exec, so a child of a large
# test runner would report the runner's size
peak = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:"))
sys.stderr.write(f"\\n@@peak_kb={peak}\\n")
sys.exit(code)
"""


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str  # without the peak line
    peak_mb: float

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def recon(
    *args: str,
    env: dict[str, str] | None = None,
    cap: int = MEMORY_CAP,
    timeout: float = 60,
    isolate: bool = False,
) -> Outcome:
    """Run ``recon *args``: in this process, or (``isolate``) in a child capped to ``cap`` bytes.

    Inputs that could take memory without bound run isolated; the rest run here (a child
    costs seconds of imports on a busy machine).
    """
    if not isolate:
        return _inline(args, env or {})
    full_env = {**os.environ, **(env or {})}
    full_env.pop("RECON_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(cap), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    stderr, _, peak = done.stderr.rpartition("@@peak_kb=")
    peak_mb = int(peak.strip()) / 1024 if peak.strip().isdigit() else float("nan")
    if not peak.strip().isdigit():  # killed before the end: keep all of stderr
        stderr = done.stderr
    return Outcome(done.returncode, done.stdout, stderr.rstrip("\n"), peak_mb)


def _inline(args: tuple[str, ...], env: dict[str, str]) -> Outcome:
    from recon.cli import main

    saved = {key: os.environ.get(key) for key in [*env, "RECON_DEBUG"]}
    os.environ.update(env)
    os.environ.pop("RECON_DEBUG", None)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Outcome(code, out.getvalue(), err.getvalue().rstrip("\n"), float("nan"))


def assert_one_line_error(outcome: Outcome, *fragments: str) -> str:
    """Exit 2, exactly one line on stderr starting ``recon: error:``, no traceback; returns it."""
    assert outcome.code == 2, (outcome.code, outcome.stderr[-2000:])
    assert "Traceback" not in outcome.stderr, outcome.stderr[-2000:]
    assert len(outcome.lines) == 1, outcome.lines
    line = outcome.lines[0]
    assert line.startswith("recon: error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def user(n: int, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "id": f"u{n:05d}", "userName": f"user{n}@example.com", **extra}


def write_ndjson(path: Path, resources: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return path
