"""Drift: where the gateway's traffic or configuration disagrees with the current policy."""

from __future__ import annotations
