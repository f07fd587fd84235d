"""DuckDB as the audit uses it: the engine's compiled core alone.

``import duckdb`` runs the package's ``__init__``, which re-exports this core and adds DB-API type
objects and a version string looked up through importlib.metadata: about 20 ms, an eighth of a daily
run that reads a few minutes of new lines. The audit uses connections and DuckDB's error classes
only, and those are the core's own (``duckdb.connect is _duckdb.connect``). The package itself is
the fallback, should a release move its core.
"""

from __future__ import annotations

try:
    import _duckdb as duckdb
except ImportError:  # pragma: no cover - a DuckDB release without the core module
    import duckdb  # type: ignore[no-redef]

__all__ = ["duckdb"]
