"""The root command: one sub-app per group, one error handler, nothing else."""

from __future__ import annotations

import sys
import traceback
from importlib import import_module

import typer

from airgapctl import __version__
from airgapctl.errors import AirgapError, ExitCode

# The command groups, in --help order; each is the module airgapctl.cli.<name> with a register(root).
GROUPS = ("bundle", "specs", "gateway", "provision", "audit", "lab")


def _print_version(value: bool) -> None:
    if value:
        print(f"airgapctl {__version__}")
        raise typer.Exit()


def root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback when a command fails."),
) -> None:
    """Build, provision and audit API gateway appliances for air-gapped sites."""


def build_app(groups: tuple[str, ...] = GROUPS) -> typer.Typer:
    """The root command with the given groups (importing a group imports its libraries)."""
    app = typer.Typer(
        name="airgapctl",
        help="Build, provision and audit API gateway appliances for air-gapped sites.",
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
    app.callback()(root)
    for name in groups:
        import_module(f"airgapctl.cli.{name}").register(app)
    return app


def __getattr__(name: str) -> typer.Typer:
    """``airgapctl.cli.app``: the whole command tree (for the reference docs and the help tests)."""
    if name == "app":
        return build_app()
    raise AttributeError(name)


def _named_group(args: list[str]) -> tuple[str, ...]:
    """The group the command line runs, alone; every group for root help, version or anything unknown."""
    for arg in args:
        if arg in ("--help", "--version"):
            return GROUPS
        if not arg.startswith("-"):
            return (arg,) if arg in GROUPS else GROUPS
    return GROUPS


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turn expected errors into one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    # Only the group named on the command line is loaded: importing every group's libraries costs about
    # half a second, which a scheduled audit or a quick `bundle verify` would pay for nothing.
    app = build_app(_named_group(args))
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
