"""The root command: one sub-app per group, one error handler, nothing else."""

from __future__ import annotations

import sys
import traceback

import typer

from airgapctl import __version__
from airgapctl.cli import audit, bundle, gateway, lab, provision, specs
from airgapctl.errors import AirgapError, ExitCode

app = typer.Typer(
    name="airgapctl",
    help="Build, provision and audit API gateway appliances for air-gapped sites.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        print(f"airgapctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback when a command fails."),
) -> None:
    """Build, provision and audit API gateway appliances for air-gapped sites."""


for module in (bundle, specs, gateway, provision, audit, lab):
    module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turn expected errors into one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        # Standalone mode: click reports usage errors itself (exit 2); ours propagate here.
        app(args=args, prog_name="airgapctl")
    except AirgapError as error:
        if debug:
            traceback.print_exc()
        print(f"airgapctl: error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        sys.exit(int(error.exit_code))
    sys.exit(int(ExitCode.OK))
