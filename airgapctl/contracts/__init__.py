"""Formats other programs read: each defined once here and imported by every writer and reader."""
