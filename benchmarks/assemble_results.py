"""Assemble ``benchmarks/RESULTS.md`` from the summary and each area's ``benchmarks/results/<area>.md``.

Each benchmark script writes its own area file when it runs; this joins them in the order of the
data flow (CONTRACT §1) under one summary, shifting headings so that every area is a level-2
section. Run it after any benchmark: ``python benchmarks/assemble_results.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ORDER = ("simulate", "import", "extract", "validate", "reconcile", "deltas", "bulk", "history")
HEADING = re.compile(r"^(#+)(\s.*)$")


def shifted(text: str, top: int = 2) -> str:
    """``text`` with its headings moved so that the first one is at level ``top`` (fences untouched)."""
    lines = text.strip("\n").splitlines()
    levels = [len(m.group(1)) for line in lines if (m := HEADING.match(line))]
    shift = top - levels[0] if levels else 0
    out: list[str] = []
    fenced = False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        out.append(f"{'#' * max(top, len(match.group(1)) + shift)}{match.group(2)}" if match else line)
    return "\n".join(out)


def assemble() -> str:
    """The whole RESULTS.md text."""
    areas = [name for name in ORDER if (RESULTS / f"{name}.md").exists()]
    extra = sorted(p.stem for p in RESULTS.glob("*.md") if p.stem not in ORDER and p.stem != "summary")
    parts = [(RESULTS / "summary.md").read_text(encoding="utf-8").strip("\n")]
    parts += [shifted((RESULTS / f"{name}.md").read_text(encoding="utf-8")) for name in [*areas, *extra]]
    return "\n\n".join(parts) + "\n"


def main() -> int:
    """Write benchmarks/RESULTS.md; exit 2 when the summary is missing."""
    if not (RESULTS / "summary.md").exists():
        print(f"assemble_results: {RESULTS / 'summary.md'} is missing", file=sys.stderr)
        return 2
    (HERE / "RESULTS.md").write_text(assemble(), encoding="utf-8")
    print(HERE / "RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
