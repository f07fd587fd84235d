"""Provisioning of gateway appliances: preflight checks and the runner."""
