"""The root command: one sub-app per group, one error handler, nothing else."""

from __future__ import annotations

import errno
import gc
import os
import sys
import traceback
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from airgapctl import __version__
from airgapctl.errors import AirgapError, BundleRejectedError, ExitCode
from airgapctl.output import error_object, hold_document, json_document

if TYPE_CHECKING:
    import typer

# Typer is imported where the command tree is built, not here: a plain `audit run` line runs without it
# (airgapctl.cli.audit_run), and a daily audit would pay a fifth of its time to import it.

# The command groups, in --help order; each is the module airgapctl.cli.<name> with a register(root).
GROUPS = ("bundle", "sync", "specs", "gateway", "ca", "vault", "provision", "drift", "audit", "events", "store", "lab")


def _print_version(value: bool) -> None:
    import typer

    if value:
        print(f"airgapctl {__version__}")
        raise typer.Exit()


def _root() -> Callable[..., None]:
    import typer

    def root(
        version: bool = typer.Option(
            False, "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
        debug: bool = typer.Option(False, "--debug", help="Show a traceback when a command fails."),
    ) -> None:
        """Build, provision and audit API gateway appliances for air-gapped sites."""

    return root


def build_app(groups: tuple[str, ...] = GROUPS) -> typer.Typer:
    """The root command with the given groups (importing a group imports its libraries)."""
    import typer

    app = typer.Typer(
        name="airgapctl",
        help="Build, provision and audit API gateway appliances for air-gapped sites.",
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root())
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


def _asks_for_json(app: typer.Typer, args: list[str]) -> bool:
    """Whether the command line gives ``--json`` (before any ``--``) to a command that has that option."""
    args = args[: args.index("--")] if "--" in args else args
    if "--json" not in args:
        return False
    import typer

    # Groups take no option with a value, so the words before the command's own arguments name it.
    command = typer.main.get_command(app)
    for word in (arg for arg in args if not arg.startswith("-")):
        if not hasattr(command, "get_command"):
            break
        command = command.get_command(command.context_class(command), word)
        if command is None:
            return False
    return any("--json" in param.opts for param in command.params)


def _report(error: Exception, debug: bool) -> tuple[dict[str, Any], str]:
    """Say on stderr what went wrong; return the error object and the status for a --json document."""
    if _is_typer(error, "TyperException"):  # click's usage errors keep click's own text
        error.show()  # type: ignore[attr-defined]  # every one click raises can show itself
        ctx = getattr(error, "ctx", None)
        hint = f"see '{ctx.command_path} --help'" if ctx is not None else None
        return error_object(error.exit_code, error.format_message(), hint), "error"
    if debug:
        traceback.print_exception(error)
    if isinstance(error, AirgapError):
        code, message, hint = error.exit_code, error.message, error.hint
    else:
        code, message = ExitCode.FAILED, f"internal error: {error!r}"
        hint = None if debug else "run again with --debug for the traceback"
    print(f"airgapctl: error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return error_object(code, message, hint), "rejected" if isinstance(error, BundleRejectedError) else "error"


def _is_typer(error: BaseException, name: str) -> bool:
    """Whether ``error`` is Typer's ``name`` (never, when Typer was not imported: a line run without it)."""
    typer = sys.modules.get("typer")
    return typer is not None and isinstance(error, getattr(typer, name))


def _without_typer(args: list[str]) -> dict[str, Any] | None:
    """The values of a command line that runs without building the Typer app: a plain `audit run`
    (airgapctl.cli.audit_run.parse_run); None for every other line."""
    words = args[1:] if args[:1] == ["--debug"] else args
    if words[:2] != ["audit", "run"]:
        return None
    from airgapctl.cli.audit_run import parse_run

    return parse_run(words[2:])


def _run_plain(values: dict[str, Any]) -> Any:
    """Run `audit run` with ``values`` as click's main would run it: end of input aborts, an interrupt
    exits 130, a closed stdout exits 1."""
    from airgapctl.cli.audit_run import run_command

    # Paused from here, not only in run_audit: the modules the run loads are walked by the cycle
    # collector too, for nothing (see log_analysis.pipeline.run_audit).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return run_command(**values)
    except EOFError:
        print(file=sys.stderr)
        print("Aborted!", file=sys.stderr)
        sys.exit(int(ExitCode.FAILED))
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        from typer._click.utils import PacifyFlushWrapper

        sys.stdout, sys.stderr = PacifyFlushWrapper(sys.stdout), PacifyFlushWrapper(sys.stderr)
        sys.exit(1)
    finally:
        if collecting:
            gc.enable()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turn failures into one line and an exit code, and with --json
    print exactly one document on stdout, failures included."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    plain = _without_typer(args)
    # Only the group named on the command line is loaded: importing every group's libraries costs about
    # half a second, which a scheduled audit or a quick `bundle verify` would pay for nothing.
    app = build_app(_named_group(args)) if plain is None else None

    def asks_for_json() -> bool:
        return plain["as_json"] if plain is not None else _asks_for_json(app, args)

    document = None
    with hold_document() as held:
        try:
            if plain is not None:
                outcome = _run_plain(plain)
            else:
                # Not standalone: click's usage errors come here too, so that --json can report them.
                outcome = app(args=args, prog_name="airgapctl", standalone_mode=False)
        except Exception as error:
            if _is_typer(error, "Abort"):
                print("Aborted!", file=sys.stderr)
                sys.exit(int(ExitCode.FAILED))
            if not isinstance(error, AirgapError) and not _is_typer(error, "TyperException") and not asks_for_json():
                raise  # a bug: Python's traceback and exit 1
            failure, status = _report(error, debug)
        else:
            failure = None
    if failure is None:
        # An int only from an explicit exit: --help, --version, an interrupt (130).
        code = outcome if isinstance(outcome, int) else int(ExitCode.OK)
        if held.status is not None:
            document = json_document(held.data, held.status)
    else:
        code = failure["exit_code"]
        if asks_for_json():
            # A result printed before the failure (audit findings, spec problems) keeps its data and its status.
            document = json_document(held.data, status if held.status in (None, "ok") else held.status, [failure])
    if document is not None:
        try:
            print(document, flush=True)
        except BrokenPipeError:  # the reader went away (`| head`): exit 1 as click does, without a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = int(ExitCode.FAILED)
    sys.exit(code)
