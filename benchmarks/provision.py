"""Provisioning lab gateways from the demo's bundle: a full converge and a no-change re-run, for one
appliance and for three at once, through ``airgapctl provision`` and, as the reference, the same site
playbook run by plain ``ansible-playbook`` on the same converged appliances.

Every appliance is a fresh lab instance (Docker, systemd, no network) named bench-N, given the lab's
petstore upstream as the demo gives it; the inventory is inventory/lab's variables with those hosts.
Times are wall seconds of whole processes; airgapctl's include its preflight (bundle verified, the
inventory's variables, the policy compiled, certificates, each host reached).

Needs what ``make demo`` leaves in .cache/demo (bundle, site, vault password): run it once first.

    .venv/bin/python -m benchmarks.provision [--sizes 1,3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / ".cache" / "demo"
LAB_VARS = REPO / "inventory" / "lab" / "group_vars"
UPSTREAM = REPO / "examples" / "lab" / "appliance"
BIN = Path(sys.executable).parent


def _run(argv: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO, **kwargs)
    return time.monotonic() - started, proc


def _must(argv: list[str]) -> float:
    seconds, proc = _run(argv)
    if proc.returncode != 0:
        sys.exit(
            f"benchmark: {' '.join(argv[:3])} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout)[-2000:]}"
        )
    return seconds


def inventory(directory: Path, names: list[str]) -> Path:
    """inventory/lab's variables (its paths made absolute) with the bench hosts as its gateways."""
    shutil.copytree(LAB_VARS, directory / "group_vars")
    for path in (directory / "group_vars").rglob("*.yml"):
        path.write_text(path.read_text().replace("{{ inventory_dir }}/../..", str(REPO)).replace(
            "(inventory_dir ~ '/../..", f"('{REPO}"))  # fmt: skip
    hosts = {n: {"ansible_connection": "community.docker.docker", "ansible_host": f"airgap-lab-{n}"} for n in names}
    (directory / "hosts.yml").write_text(json.dumps({"all": {"children": {"gateways": {"hosts": hosts}}}}))
    return directory


def start(names: list[str]) -> None:
    from airgapctl.lab import down, up

    for name in names:
        down(name)
        up(name)
        container = f"airgap-lab-{name}"
        _must(["docker", "exec", container, "mkdir", "-p", "/opt/airgap-lab"])
        for file in ("petstore_upstream.py", "airgap-lab-petstore.service"):
            _must(["docker", "cp", "-q", str(UPSTREAM / file), f"{container}:/opt/airgap-lab/{file}"])
        _must(["docker", "exec", container, "sh", "-c",
               "ln -sf /opt/airgap-lab/airgap-lab-petstore.service /etc/systemd/system/ && systemctl daemon-reload"
               " && systemctl enable -q --now airgap-lab-petstore.service"])  # fmt: skip


def stop(names: list[str]) -> None:
    from airgapctl.lab import down

    for name in names:
        down(name)


def changed(proc: subprocess.CompletedProcess[str]) -> int:
    return sum(h["changed"] for h in json.loads(proc.stdout)["data"]["hosts"].values())


def measure(size: int, keep: bool) -> dict[str, float | int]:
    names = [f"bench-{n}" for n in range(1, size + 1)]
    start(names)
    vault = ["--vault-password-file", str(DEMO / "vault-pass")]
    with tempfile.TemporaryDirectory(prefix="airgap-bench-") as work:
        inv = inventory(Path(work) / "inventory", names)
        runs = ["--runs-dir", str(Path(work) / "runs")]
        provision = [str(BIN / "airgapctl"), "provision", "-i", str(inv), *vault, *runs, "--json"]
        full, first = _run(provision)
        if first.returncode != 0:
            sys.exit(f"benchmark: the full converge failed: {first.stderr[-2000:]}")
        again, second = _run(provision)
        if second.returncode != 0:
            sys.exit(f"benchmark: the re-run failed: {second.stderr[-2000:]}")
        reference = [str(BIN / "ansible-playbook"), "-i", str(inv), "playbooks/site.yml", *vault]
        plain = _must(reference)
        preflight = _must([*provision[:-1], "--preflight-only"])
    if not keep:
        stop(names)
    return {"appliances": size, "full": full, "full_changed": changed(first), "again": again,
            "again_changed": changed(second), "ansible_playbook": plain, "preflight": preflight}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3", help="appliance counts to converge at once (default 1,3)")
    parser.add_argument("--keep", action="store_true", help="leave the bench instances running")
    args = parser.parse_args()
    for needed in (DEMO / "bundle" / "manifest.json.sig", DEMO / "vault-pass", DEMO / "site" / "policy.json"):
        if not needed.exists():
            sys.exit(f"benchmark: {needed} is missing: run make demo once first")
    rows = [measure(int(size), args.keep) for size in args.sizes.split(",")]
    print(f"{'appliances':>10} {'full s':>8} {'changed':>8} {'re-run s':>9} {'changed':>8} "
          f"{'ansible-playbook s':>19} {'ratio':>6} {'preflight s':>12}")  # fmt: skip
    for row in rows:
        print(f"{row['appliances']:>10} {row['full']:>8.1f} {row['full_changed']:>8} {row['again']:>9.1f} "
              f"{row['again_changed']:>8} {row['ansible_playbook']:>19.1f} "
              f"{row['again'] / row['ansible_playbook']:>6.2f} {row['preflight']:>12.1f}")  # fmt: skip
    print("ratio: airgapctl provision's no-change re-run (preflight included) / plain ansible-playbook's")


if __name__ == "__main__":
    main()
