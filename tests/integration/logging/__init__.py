"""Helpers for the logging role's tests: a structural checker of the Fluentd configuration it renders."""
