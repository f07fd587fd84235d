"""Inside the instance: wait until the store holds the access-log line of one request, check it.

store_check.py STORE RAW_LOG REQUEST_ID [--timeout S]

Prints JSON: the stored line's file and keys. Exit 1, naming what is wrong, when the line does not
arrive, differs from the raw log's line, or lacks a field of the access-log contract.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from airgapctl.contracts import access_log

parser = argparse.ArgumentParser()
parser.add_argument("store", type=Path)
parser.add_argument("raw_log", type=Path)
parser.add_argument("request_id")
parser.add_argument("--timeout", type=float, default=30)
args = parser.parse_args()


def lines_with(path: Path) -> list[str]:
    marker = f'"request_id":"{args.request_id}"'
    try:
        return [line for line in path.read_text().splitlines() if marker in line.replace(" ", "")]
    except FileNotFoundError:
        return []


deadline = time.monotonic() + args.timeout
while True:
    raw = lines_with(args.raw_log)
    stored = [(path, line) for path in sorted((args.store / "gateway").glob("*.log")) for line in lines_with(path)]
    if raw and stored:
        break
    if time.monotonic() > deadline:
        sys.exit(f"request {args.request_id}: {len(raw)} line(s) in {args.raw_log}, {len(stored)} in the store")
    time.sleep(0.5)

problems = []
if len(stored) != 1:
    problems.append(f"{len(stored)} stored lines, not 1")
path, line = stored[0]
if line != raw[0]:
    problems.append(f"the stored line differs from the raw one: {line!r} != {raw[0]!r}")
record = json.loads(line)
missing = [field.name for field in access_log.FIELDS if field.name not in record]
if missing:
    problems.append(f"fields missing from the stored line: {missing}")
if not path.name.endswith(".log") or len(path.stem) != len("YYYY-MM-DD"):
    problems.append(f"stored in {path}, not a YYYY-MM-DD.log file")
if problems:
    sys.exit("; ".join(problems))
print(json.dumps({"file": str(path), "keys": sorted(record), "status": record["status"]}))
