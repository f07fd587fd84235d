"""Render docs/cli.md from the commands' own --help, so the reference cannot drift.

Regenerate with ``python -m airgapctl.cli.reference > docs/cli.md`` (make docs);
tests/cli/test_help.py fails when the file is stale.
"""

from __future__ import annotations

import typer

WIDTH = 100


def iter_commands(command, path: tuple[str, ...] = ("airgapctl",)):
    """Yield (path, command) for the root and every command below it, depth first.

    Typer may carry its own copy of click, so the tree is walked through the command
    objects' own methods and context class rather than by importing click.
    """
    yield path, command
    if hasattr(command, "list_commands"):
        ctx = command.context_class(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from iter_commands(sub, (*path, name))


def render_reference() -> str:
    from airgapctl.cli import app

    root = typer.main.get_command(app)
    parts = ["# airgapctl command reference", "", "Generated from `--help` by `make docs`; do not edit by hand.", ""]
    for path, command in iter_commands(root):
        ctx = command.context_class(command, info_name=" ".join(path), terminal_width=WIDTH, max_content_width=WIDTH)
        parts += [f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`", "", "```text", command.get_help(ctx), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render_reference(), end="")
