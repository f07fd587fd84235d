"""Command groups this version does not provide yet: they say so and exit 2, never pretend."""

from __future__ import annotations

import typer

from airgapctl.errors import NotAvailableError


def register_planned(app: typer.Typer, name: str, help_text: str, capability: str) -> None:
    """Add ``name`` as a command that accepts any arguments and reports it is not available yet."""

    def not_available(ctx: typer.Context) -> None:
        raise NotAvailableError(
            f"'airgapctl {name}' is not available yet: {capability} is not part of this version",
            hint="'airgapctl --help' lists what this version can do",
        )

    not_available.__doc__ = f"{help_text}\n\nNot available yet: {capability}."
    app.command(
        name=name,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(not_available)
