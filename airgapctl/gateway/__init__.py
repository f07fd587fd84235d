"""The policy-enforcing NGINX gateway: derive, render and self-test its configuration."""

from __future__ import annotations

from airgapctl.gateway.model import build_gateway_model
from airgapctl.gateway.policy import load_policy
from airgapctl.gateway.render import RenderOptions, RenderResult, render_gateway, template_variables

__all__ = [
    "RenderOptions",
    "RenderResult",
    "build_gateway_model",
    "load_policy",
    "render_gateway",
    "template_variables",
]
