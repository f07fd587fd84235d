"""``airgapctl audit``: scan stored gateway logs for anomalies and policy drift."""

from airgapctl.cli.planned import register_planned


def register(app) -> None:
    register_planned(
        app,
        "audit",
        "Scan stored gateway access logs for anomalies and policy drift and write offline reports.",
        "the scheduled audit",
    )
