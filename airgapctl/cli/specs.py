"""``airgapctl specs``: OpenAPI definitions and the compiled site policy."""

from airgapctl.cli.planned import register_planned


def register(app) -> None:
    register_planned(
        app,
        "specs",
        "Validate preloaded OpenAPI definitions and compile them with the access policy into policy.json.",
        "OpenAPI validation and policy compilation",
    )
