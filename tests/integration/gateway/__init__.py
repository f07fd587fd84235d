"""Helpers for the gateway tests: policies, certificates, a recording upstream, a raw TLS client."""
