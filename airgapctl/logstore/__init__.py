"""The log store the collector writes, kept within its disk: ``airgapctl store maintain``.

    <store>/<stream>/YYYY-MM-DD.log      a day being written, or closed and not compressed yet
    <store>/<stream>/YYYY-MM-DD.log.gz   a closed day, compressed (.log.N.gz when that name was taken)
    <store>/<stream>/YYYY-MM-DD.log.compressing   a day's .log while it is compressed

layout     which names are days of a stream, which are ours in passing, which are left alone
compress   closed days gzip'd in place, never overwriting and never losing a line
retention  days older than the retention deleted, each run first recorded as one store.expired event
guard      the disk guard: the collector stopped below --min-free, started again at --resume-free
maintain   the options, checked, and one run of the three under a lock
"""

from __future__ import annotations

from airgapctl.logstore.maintain import Options, Result, maintain, parse_options

__all__ = ["Options", "Result", "maintain", "parse_options"]
