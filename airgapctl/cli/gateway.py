"""``airgapctl gateway``: the NGINX gateway rendered from a compiled policy."""

from airgapctl.cli.planned import register_planned


def register(app) -> None:
    register_planned(
        app,
        "gateway",
        "Render the NGINX gateway configuration from a compiled policy and self-test it.",
        "the policy-enforcing NGINX gateway",
    )
