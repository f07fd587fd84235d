"""The policy-enforcing NGINX gateway: derive, render and self-test its configuration."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airgapctl.gateway.model import build_gateway_model
    from airgapctl.gateway.policy import load_policy
    from airgapctl.gateway.render import RenderOptions, RenderResult, render_gateway, template_variables

# Imported when first used: the audit reads policies and routes through this package, and must not pay
# for Jinja (the renderer) on every run.
_EXPORTS = {
    "RenderOptions": "render",
    "RenderResult": "render",
    "build_gateway_model": "model",
    "load_policy": "policy",
    "render_gateway": "render",
    "template_variables": "render",
}

__all__ = [
    "RenderOptions",
    "RenderResult",
    "build_gateway_model",
    "load_policy",
    "render_gateway",
    "template_variables",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
