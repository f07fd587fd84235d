"""Collecting what goes into a bundle on the connected side: debs, wheels, collections, specs, files."""
