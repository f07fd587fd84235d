"""Validate, compile and render a 2,000-operation spec (target: under 3 s in all), and time
validate and compile, cold and warm, on two large specs next to plain openapi-spec-validator.

Run by hand (never from the test suite):

    .venv/bin/python -m benchmarks.specs_compile [--operations 2000] [--ref-depth 8] [--large-only]

The pipeline part prints each stage's time (cold: empty validation cache), the total,
operations per second, and the same for the whole `airgapctl specs compile` + `gateway render`
commands in fresh processes (start-up and imports included), next to plain
openapi-spec-validator's time on the same spec as the reference.

The large-spec part generates a 4 MB single-file spec shaped like a large public one
(benchmarks/public_shaped_spec.py) and a multi-file spec of 700 operations
(benchmarks/large_spec.py), and prints for each: validate and compile, cold (empty cache,
nothing compiled yet) and warm (the cached verdict), in this process and as fresh
`airgapctl` processes; plain openapi-spec-validator reading and validating the same files
in a fresh process; and the ratios. The targets: 4 MB cold under 1 s, warm under 0.1 s, at
least 5x faster than openapi-spec-validator.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from airgapctl.gateway.render import RenderOptions, render_gateway
from airgapctl.specs.access import load_access
from airgapctl.specs.compile import compile_files, compile_policy, write_policy
from airgapctl.specs.metaschema import dialect_schema, meta_schema
from airgapctl.specs.validate import validate_spec
from benchmarks.large_spec import generate_large_spec
from benchmarks.public_shaped_spec import generate_single_file_spec


def write_access(directory: Path, spec: Path) -> Path:
    access = {
        "version": 1,
        "site": "bench",
        "apis": [{"name": "big", "spec": str(spec), "base_path": "/big", "upstream": {"url": "http://127.0.0.1:9"}}],
        "roles": [{"name": "reader", "allow": [{"method": "GET", "path": "/**"}]},
                  {"name": "admin", "rate_limit": {"per_second": 50, "burst": 100}, "allow": [{"path": "/**"}]}],
        "clients": [{"name": f"client{i}", "subject": f"CN=client{i},O=Bench",
                     "roles": ["reader" if i % 2 else "admin"]} for i in range(50)],
    }  # fmt: skip
    path = directory / "access.yml"
    path.write_text(yaml.safe_dump(access))
    return path


def timed(action):
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def self_signed(work: Path) -> tuple[str, str]:
    """A throwaway certificate so that nginx -t can load the rendered TLS settings."""
    cert, key = work / "bench.crt", work / "bench.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=bench", "-days", "1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    return str(cert), str(key)


def in_process(work: Path, spec: Path, access: Path) -> float:
    cache = work / "cache-in-process"
    t_validate, loaded = timed(lambda: validate_spec(spec, cache))
    t_compile, result = timed(lambda: compile_policy(load_access(access), {"big": loaded}))
    write_policy(result.policy, work / "policy.json")
    cert, key = self_signed(work)
    options = RenderOptions(listen="127.0.0.1:18443", server_cert=cert, server_key=key, client_ca=cert,
                            credentials_dir=str(work / "credentials"))  # fmt: skip
    t_render, rendered = timed(lambda: render_gateway(result.policy, work / "gateway", options))
    total = t_validate + t_compile + t_render
    ops = len(result.policy["operations"])
    print(f"operations: {ops}")
    print(f"validate (cold)  {t_validate:6.2f} s")
    print(f"compile          {t_compile:6.2f} s")
    print(f"render + nginx -t {t_render:5.2f} s  (nginx -t {rendered.nginx_test_seconds:.2f} s)")
    print(f"total in-process {total:6.2f} s  -> {ops / total:,.0f} operations/s (target: under 3 s)")
    return total


def commands(work: Path, access: Path) -> float:
    airgapctl = str(Path(sys.executable).parent / "airgapctl")
    cache = work / "cache-cli"
    started = time.perf_counter()
    subprocess.run([airgapctl, "specs", "compile", "--access", str(access), "--out", str(work / "p2.json"),
                    "--cache-dir", str(cache)], check=True, capture_output=True)  # fmt: skip
    subprocess.run([airgapctl, "gateway", "render", "--policy", str(work / "p2.json"), "--out", str(work / "gw2"),
                    "--server-cert", str(work / "bench.crt"), "--server-key", str(work / "bench.key"),
                    "--client-ca", str(work / "bench.crt"),
                    "--credentials-dir", str(work / "credentials")], check=True, capture_output=True)  # fmt: skip
    elapsed = time.perf_counter() - started
    print(f"commands (fresh processes, cold cache): specs compile + gateway render {elapsed:.2f} s")
    return elapsed


def reference(spec: Path) -> float:
    code = (
        "import sys, yaml; from openapi_spec_validator import validate; "
        "validate(yaml.load(open(sys.argv[1]), Loader=yaml.CSafeLoader), base_uri=f'file://{sys.argv[1]}')"
    )
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    verdict = "valid" if proc.returncode == 0 else f"raised: {proc.stderr.strip().splitlines()[-1:]}"
    print(f"reference: plain openapi-spec-validator validate() {elapsed:.2f} s ({verdict})")
    return elapsed


# Plain openapi-spec-validator in a fresh process: the seconds it takes to read and validate the
# spec (its own file handler resolves the local $refs), imports and interpreter start left out.
_REFERENCE = """
import sys, time
started = time.perf_counter()
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
imported = time.perf_counter()
document, base_uri = read_from_filename(sys.argv[1])
validate(document, base_uri=base_uri)
print(time.perf_counter() - imported)
"""


def reference_seconds(spec: Path) -> float:
    proc = subprocess.run([sys.executable, "-c", _REFERENCE, str(spec)], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def cold(action):
    """Time ``action`` with nothing compiled yet: the meta-schemas are compiled again, as in a fresh run."""
    meta_schema.cache_clear()
    dialect_schema.cache_clear()
    return timed(action)[0]


def cli_seconds(*args: str) -> float:
    airgapctl = str(Path(sys.executable).parent / "airgapctl")
    started = time.perf_counter()
    subprocess.run([airgapctl, *args], check=True, capture_output=True)
    return time.perf_counter() - started


def large_spec(name: str, spec: Path, work: Path) -> None:
    work.mkdir(parents=True)
    access = write_access(work, spec.resolve())
    files = list(spec.parent.rglob("*.yaml"))
    size = sum(f.stat().st_size for f in files)
    caches = {key: work / f"cache-{key}" for key in ("validate", "compile", "cli-validate", "cli-compile")}
    validate_cold = cold(lambda: validate_spec(spec, caches["validate"]))
    validate_warm = timed(lambda: validate_spec(spec, caches["validate"]))[0]
    load = lambda path: validate_spec(path, caches["compile"])  # noqa: E731
    compile_cold = cold(lambda: compile_files(access, load))
    compile_warm, result = timed(lambda: compile_files(access, load))
    out = str(work / "policy.json")
    compile_args = ["specs", "compile", "--access", str(access), "--out", out]
    cli = {
        "validate cold": cli_seconds("specs", "validate", "--cache-dir", str(caches["cli-validate"]), str(spec)),
        "validate warm": cli_seconds("specs", "validate", "--cache-dir", str(caches["cli-validate"]), str(spec)),
        "compile cold": cli_seconds(*compile_args, "--cache-dir", str(caches["cli-compile"])),
        "compile warm": cli_seconds(*compile_args, "--cache-dir", str(caches["cli-compile"])),
    }
    reference = reference_seconds(spec)
    print(f"\n{name}: {len(result.policy['operations'])} operations, {len(files)} file(s), {size / 1e6:.2f} MB")
    print(f"  {'':30}{'in-process':>12}{'fresh process':>15}{'openapi-spec-validator / it':>29}")
    rows = [("validate cold", validate_cold), ("validate warm", validate_warm),
            ("compile cold (validate incl.)", compile_cold), ("compile warm", compile_warm)]  # fmt: skip
    for label, seconds in rows:
        command = cli[label.split(" (")[0]]
        print(f"  {label:30}{seconds:10.3f} s{command:13.3f} s{reference / seconds:27.1f}x")
    print(f"  openapi-spec-validator (read + validate, imports not counted): {reference:.2f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--ref-depth", type=int, default=8)
    parser.add_argument("--large-only", action="store_true", help="only the large-spec part (no NGINX needed)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="airgapctl-bench-") as tmp:
        work = Path(tmp)
        if not args.large_only:
            spec = generate_large_spec(work / "spec", args.operations, args.ref_depth)
            access = write_access(work, spec)
            total = in_process(work, spec, access)
            commands(work, access)
            ref = reference(spec)
            print(
                f"ratio: in-process validate+compile+render is {ref / total:.1f}x faster than the reference validation"
            )
        single = generate_single_file_spec(work / "single" / "openapi.yaml", target_bytes=4_000_000)
        large_spec("4 MB single-file spec", single, work / "single-work")
        multi = generate_large_spec(work / "multi", 700, args.ref_depth)
        large_spec("multi-file spec", multi, work / "multi-work")


if __name__ == "__main__":
    main()
