"""The ``recon`` command line: the only room that prints.

``main(argv) -> int`` runs a command and maps outcomes to CONTRACT §1 exit codes:
0 ran and no threshold exceeded · 1 a configured threshold was exceeded · 2 usage,
configuration, input or connection error (one line on stderr, traceback only with
``--debug``) · 130 interrupted.

Each command lives in its own module of this package and exposes ``register(app)``;
modules are registered in alphabetical order, so a new command is one new file.

Every invocation (``--help`` and usage errors too) imports all command modules, so they import at
top level only the standard library, typer and light recon modules; domain modules (and with them
duckdb, polars, pyarrow, pandera, httpx, altair) are imported inside the functions that use them, so
the heavy libraries load only for the command that runs (tests/foundation/test_cli_startup.py).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from types import FrameType

import typer

from recon import __version__
from recon.cli.common import state
from recon.errors import ReconError
from recon.safe_text import one_line

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="recon",
    help="Evidence that directory sync works: SCIM exports, reconciliation, delta correctness, drift.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"recon {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """recon: evidence that directory sync works."""
    state.debug = state.debug or debug


for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _module.name == "common":
        continue
    _loaded = importlib.import_module(f"{__name__}.{_module.name}")
    _register = getattr(_loaded, "register", None)
    if _register is not None:
        _register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run recon with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    # Per invocation (main() also runs in-process, from tests and notebooks); --debug is accepted
    # anywhere on the line, not only before the command.
    state.debug = bool(os.environ.get("RECON_DEBUG")) or "--debug" in args
    args = [arg for arg in args if arg != "--debug"]
    try:
        with _terminate_as_interrupt():
            app(args=args, prog_name="recon")  # standalone: usage errors print and exit 2, ^C exits 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except ReconError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}")
    except KeyboardInterrupt:
        print("recon: interrupted", file=sys.stderr)
        return 130
    return 0


def _fail(message: str) -> int:
    if state.debug:
        traceback.print_exc()
    print(f"recon: error: {one_line(message)}", file=sys.stderr)
    return 2


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C in every command: staging is removed, a moved export restored."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (recon run from a test runner's or a notebook's thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run() -> None:
    """Console-script entry point: ``sys.exit(main())``."""
    sys.exit(main())
