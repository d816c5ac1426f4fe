"""The README and docs/ say what the code does: their marked examples run, their links resolve.

README code blocks are tested when a marker comment precedes them (see CONTRIBUTING.md, "Docs"):
``<!-- test: run -->`` shell lines run in a temporary folder, ``<!-- test: python -->`` runs after
them in the same folder, ``<!-- test: config -->`` parses as recon.toml, the two install commands
(``install-demo``, ``install-tests``) are checked step by step against ``.ci/run`` rather than
executed, and the table after ``<!-- test: commands -->`` lists exactly the commands of
``recon --help``.

A page under docs/ that another branch writes may exist as a stub (a line starting ``> Stub:``)
until that branch is merged; a command whose page is a stub may be listed before it is registered,
and an option whose page is a stub may be documented before it exists. Once the real page lands,
the command or option must exist.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main

from recon.cli import app, main
from recon.config import parse_config

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"
DOCS = ROOT / "docs"
COMMANDS_DIR = DOCS / "commands"
MARKDOWN = [README, ROOT / "CONTRIBUTING.md", *sorted(DOCS.rglob("*.md"))]

_MARKED_BLOCK = re.compile(r"^<!--\s*test:\s*([a-z-]+)\b[^>]*-->\n```([a-z]*)\n(.*?)^```", re.M | re.S)
_MARKED_TABLE = re.compile(r"^<!--\s*test:\s*commands\b[^>]*-->\n((?:\|.*\n)+)", re.M)
_LINK = re.compile(r"\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def marked_blocks(kind: str) -> list[str]:
    """The bodies of the README's code blocks marked ``<!-- test: kind -->``."""
    return [body for found, _, body in _MARKED_BLOCK.findall(_readme()) if found == kind]


def one_block(kind: str) -> str:
    blocks = marked_blocks(kind)
    assert len(blocks) == 1, f"README.md must mark exactly one code block '<!-- test: {kind} -->'"
    return blocks[0]


def is_stub(page: Path) -> bool:
    """A placeholder for a page another branch writes (see the module docstring)."""
    return page.is_file() and any(
        line.startswith("> Stub:") for line in page.read_text(encoding="utf-8").splitlines()
    )


def registered_commands() -> set[str]:
    """The commands the ``recon`` app registers (groups such as ``bulk`` count once)."""
    group = typer.main.get_command(app)
    return set(group.commands)  # type: ignore[attr-defined]


def help_commands(capsys: pytest.CaptureFixture[str]) -> set[str]:
    """The command names listed under "Commands:" by ``recon --help``."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    section = out.split("Commands:", 1)[1]
    return {match.group(1) for match in re.finditer(r"^  ([a-z][a-z-]*)\s", section, re.M)}


def ci_steps() -> list[str]:
    """The commands of ``.ci/run``, one per line, with quiet flags and output redirections dropped."""
    steps = []
    for line in CI.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            steps.append(normalise_step(line))
    return steps


def normalise_step(step: str) -> str:
    try:
        words = shlex.split(step.split(">", 1)[0])
    except ValueError:  # a shell construct shlex cannot split is no install step: keep it as it is
        return step
    return shlex.join(w for w in words if w not in ("-q", "--quiet"))


def readme_steps(kind: str) -> list[str]:
    block = one_block(kind).strip()
    assert "\n" not in block, f"the {kind} command is one line"
    return [normalise_step(step) for step in block.split("&&")]


# --- the two commands on a fresh machine -------------------------------------------------------


def test_the_test_command_is_what_ci_runs() -> None:
    steps = readme_steps("install-tests")
    ci = ci_steps()
    positions = []
    for step in steps:
        assert step in ci, f"README step {step!r} is not in .ci/run (which runs: {ci})"
        positions.append(ci.index(step))
    assert positions == sorted(positions), ".ci/run runs the README's steps in another order"
    assert steps[-1] == "pytest", "the README's test command ends by running the whole suite"
    assert any(s.startswith("pip install -e") and ".[dev]" in s for s in steps)


def test_the_demo_command_installs_like_the_test_command() -> None:
    demo = readme_steps("install-demo")
    tests = readme_steps("install-tests")
    # the same venv, activation and editable install of this project, without the dev extra
    assert demo[:-2] == tests[:-2]
    assert demo[-2] == tests[-2].replace("'.[dev]'", ".").replace(".[dev]", ".")
    assert demo[-1] == "recon demo"
    assert "demo" in registered_commands()


def test_readme_starts_with_the_two_commands() -> None:
    headings = [line for line in _readme().splitlines() if line.startswith("## ")]
    assert headings[0] == "## Two commands on a fresh machine"


def test_python_version_in_readme_is_the_packages() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    minimum = pyproject["project"]["requires-python"].removeprefix(">=")
    assert f"Python ≥ {minimum}" in _readme()


def test_pinned_versions_named_in_readme_are_the_pins() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = {}
    for dependency in pyproject["project"]["dependencies"]:
        name, _, pin = dependency.partition("==")
        pins[name.split("[")[0]] = pin
    mentioned = r"\b(polars|duckdb|pyarrow|httpx|pandera|altair|typer|orjson|ijson) (\d[\d.]*)"
    named = re.findall(mentioned, _readme())
    assert named, "the README names the pinned versions of its main dependencies"
    for package, version in named:
        pin = pins[package]
        assert pin == version or pin.startswith(version + "."), f"README says {package} {version}, pin {pin}"


# --- examples that run -------------------------------------------------------------------------


@pytest.mark.slow  # five recon processes: 5-20 s on a shared 2-core machine
def test_run_examples_execute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [line.strip() for line in one_block("run").splitlines() if line.strip()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECON_")}
    for line in lines:
        words = shlex.split(line)
        assert words[0] == "recon", f"a run example is a recon command: {line!r}"
        done = subprocess.run(
            [sys.executable, "-m", "recon", *words[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{line!r} exited {done.returncode}: {done.stderr.strip()}"
        assert "Traceback" not in done.stderr
    # the Python example reads what the commands wrote: its last expression is a non-empty frame
    tree = ast.parse(one_block("python"))
    last = tree.body.pop()
    assert isinstance(last, ast.Expr), "the Python example ends with the expression it shows"
    monkeypatch.chdir(tmp_path)
    scope: dict[str, Any] = {}
    exec(compile(tree, "README.md", "exec"), scope)
    frame = eval(compile(ast.Expression(last.value), "README.md", "eval"), scope)
    assert frame.height > 0, "the Python example read no rows"


def test_config_example_parses() -> None:
    data = tomllib.loads(one_block("config"))
    config = parse_config(data, README)
    assert set(config.systems) == set(data["systems"])
    for name, raw in data["systems"].items():
        assert config.systems[name].base_url == raw["base_url"]
    for source, targets in data["reconcile"].items():
        for target, raw in targets.items():
            pair = config.pair(source, target)
            assert [list(rule) for rule in pair.match] == raw["match"]
            assert list(pair.compare) == raw["compare"]
            assert list(pair.scope_groups) == raw["scope_groups"]
            assert list(pair.privileged_groups) == raw["privileged_groups"]
    assert config.thresholds == data["thresholds"]


# --- commands: the table, the help, the pages --------------------------------------------------


def table_rows() -> list[tuple[str, str]]:
    """(command, page link) per row of the README's marked command table."""
    found = _MARKED_TABLE.search(_readme())
    assert found, "README.md marks its command table with '<!-- test: commands -->'"
    rows = []
    for line in found.group(1).splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        command = re.fullmatch(r"`recon ([a-z-]+)`", cells[0])
        assert command, f"first cell names one command: {cells[0]!r}"
        link = re.search(r"\]\(([^)]+)\)", cells[-1])
        assert link, f"last cell links the command's page: {line!r}"
        rows.append((command.group(1), link.group(1)))
    return rows


def test_command_table_lists_exactly_the_commands_of_recon_help(capsys: pytest.CaptureFixture[str]) -> None:
    listed = [command for command, _ in table_rows()]
    assert len(listed) == len(set(listed)), "a command is listed twice"
    in_help = help_commands(capsys)
    assert in_help == registered_commands()
    assert not in_help - set(listed), f"commands missing from the README table: {in_help - set(listed)}"
    for command in set(listed) - in_help:
        page = COMMANDS_DIR / f"{command}.md"
        assert is_stub(page), f"`recon {command}` is in the README table but not in `recon --help`"
        print(f"recon {command}: listed before it is registered (its page is still a stub)")


def test_command_table_links_each_commands_page() -> None:
    for command, link in table_rows():
        assert link == f"docs/commands/{command}.md"


def test_every_registered_command_has_its_page() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for command in sorted(registered_commands()):
        page = COMMANDS_DIR / f"{command}.md"
        assert page.is_file(), f"no page docs/commands/{command}.md for `recon {command}`"
        assert not is_stub(page), f"docs/commands/{command}.md is a stub but `recon {command}` exists"
        text = page.read_text(encoding="utf-8")
        assert text.startswith("# "), f"{page.name} starts with its title"
        assert f"recon {command}" in text, f"{page.name} never names `recon {command}`"
        assert f"(commands/{command}.md)" in index, f"docs/index.md does not link {page.name}"


def test_every_command_page_is_a_command() -> None:
    commands = registered_commands()
    for page in sorted(COMMANDS_DIR.glob("*.md")):
        assert page.stem in commands or is_stub(page), f"{page} documents no registered command"


def leaf_commands() -> dict[str, Any]:
    """Every runnable command by its full name (``bulk plan`` for a group's subcommand)."""
    found: dict[str, Any] = {}
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        if isinstance(command, typer.core.TyperGroup):
            found.update({f"{name} {sub}": leaf for sub, leaf in command.commands.items()})
        else:
            found[name] = command
    return found


def test_common_options_are_where_the_readme_says() -> None:
    assert "Every command takes `--json`" in _readme()
    for name, command in leaf_commands().items():
        options = {opt for param in command.params for opt in param.opts}
        assert "--json" in options, f"`recon {name}` has no --json"
        assert ("--data-dir" in options) == (name != "simulate"), f"`recon {name}`: --data-dir"


def test_every_option_is_on_its_commands_page() -> None:
    for name, command in leaf_commands().items():
        page = COMMANDS_DIR / f"{name.split()[0]}.md"
        text = page.read_text(encoding="utf-8")
        for param in command.params:
            for option in (*param.opts, *getattr(param, "secondary_opts", ())):
                if option.startswith("--") and option != "--help":
                    assert option in text, f"`recon {name} {option}` is not on {page.relative_to(ROOT)}"


def command_lines(page: Path) -> list[str]:
    """Every ``recon …`` invocation in the page's code blocks (``$ `` prompts and comments dropped)."""
    found = []
    for body in _FENCE.findall(page.read_text(encoding="utf-8")):
        for line in body.splitlines()[1:]:
            line = line.strip().removeprefix("$ ").split(" #")[0]
            parts = (part.strip() for part in re.split(r"&&|\|\|", line))
            # a crontab line or a venv path still runs recon: `cd /srv && .venv/bin/recon audit`
            found += [
                re.sub(r"^\S*/recon ", "recon ", part) for part in parts if re.match(r"(\S*/)?recon ", part)
            ]
    return found


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_command_lines_in_examples_use_real_commands_and_options(page: Path) -> None:
    group = typer.main.get_command(app)
    wrong = []
    for line in command_lines(page):
        words = line.split()
        if len(words) < 2 or words[1].startswith("-"):
            continue  # recon --help, recon --version
        command = group.commands.get(words[1])  # type: ignore[attr-defined]
        rest = words[2:]
        if command is None:
            if not is_stub(COMMANDS_DIR / f"{words[1]}.md"):
                wrong.append(f"no command `recon {words[1]}`: {line}")
            continue
        if isinstance(command, typer.core.TyperGroup) and rest:
            command, rest = command.commands.get(rest[0]), rest[1:]
            if command is None:
                wrong.append(f"no subcommand: {line}")
                continue
        known = {o for param in command.params for o in (*param.opts, *getattr(param, "secondary_opts", ()))}
        for word in rest:
            for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", word):
                if option not in known:
                    wrong.append(f"unknown option {option}: {line}")
    assert not wrong, f"{page.relative_to(ROOT)}: {wrong}"


def test_command_line_checker_sees_commands() -> None:
    lines = command_lines(README)
    assert "recon reconcile --data-dir sim --config sim/recon.toml --source idp --target slack" in lines
    assert "recon audit --json > last-audit.json" in lines


def test_engine_option_is_documented_where_it_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--engine duckdb|spark" in _readme()
    if is_stub(DOCS / "spark.md"):
        print("--engine: docs/spark.md is still a stub; the option is not required yet")
        return
    for command in ("reconcile", "deltas", "history"):
        assert main([command, "--help"]) == 0
        assert "--engine" in capsys.readouterr().out, f"`recon {command}` has no --engine"


# --- links and size ----------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    seen: Counter[str] = Counter()
    found = set()
    for match in re.finditer(r"^#{1,6} (.+)$", text, re.M):
        base = slug(match.group(1))
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return found


def links(page: Path) -> list[str]:
    text = _CODE_SPAN.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
    return _LINK.findall(text)


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no heading with that anchor)")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_docs_link_checker_sees_links() -> None:
    # the checker above must not pass by finding nothing
    readme_links = links(README)
    assert "docs/index.md" in readme_links
    assert "docs/commands/validate.md#speed" in readme_links


def test_readme_stays_short() -> None:
    assert len(_readme().splitlines()) < 300
