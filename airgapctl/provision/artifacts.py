"""The controller-side files the roles copy: the bundle, the compiled policy, the TLS files and CRL.

Each is checked with airgapctl's own libraries (the trust core, the policy loader and compiler, the
CA's CRL check), read-only: the bundle in check-only mode (no accepted state, no ledger), specs
without the verdict cache.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airgapctl.provision.problems import Problem, one_line, shown

DEFAULT_MARGIN_DAYS = 14
SELFTEST_ADDRESS = ipaddress.ip_address("127.0.0.1")


def _days(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 86400:.1f} days"


def check_bundle(
    bundle: Path,
    pubkey: Path,
    where: str,
    margin_days: int,
    expected_name: str | None,
    now: dt.datetime,
    accepted_dir: Path | None = None,
    verified: list[tuple[Path, Path]] | None = None,
) -> list[Problem]:
    """The trust core's verification, committing nothing; a refusal carries its reason and exit code name.

    ``accepted_dir``: the controller's record of the bundles its runs deployed; an older bundle than
    the last one (or another of the same sequence) is refused. A bundle that passes is added to
    ``verified``, for the run to record once it succeeded."""
    from airgapctl.bundle import trust
    from airgapctl.bundle.keys import signature_ok
    from airgapctl.errors import ExitCode

    try:
        verdict = trust.verify(
            str(bundle), Path(pubkey), signature_ok, now, state_dir=None, ledger=None, commit=False,
            expected_name=expected_name,
        )  # fmt: skip
    except trust.TrustError as error:
        name = ExitCode(error.code).name if error.code in ExitCode._value2member_map_ else str(error.code)
        return [
            Problem(
                f"the bundle is refused: {one_line(error.message)} [exit {error.code} {name}]",
                where,
                error.hint
                or f"check it with 'airgapctl bundle verify {shown(bundle)} --pubkey {shown(pubkey)} --check-only'",
            )
        ]
    older = _older_than_deployed(verdict.manifest, verdict.manifest_sha256, accepted_dir)
    if older:
        return [Problem(older, where, "bring the newer bundle's media; the controller deployed it already")]
    if verified is not None:
        verified.append((bundle, pubkey))
    expires = verdict.manifest.get("expires")
    if expires is not None:
        left = trust.parse_utc(expires) - now
        if left < dt.timedelta(days=margin_days):
            return [
                Problem(
                    f"the bundle expires at {expires}, in {_days(left)}, "
                    f"within the site's margin of {margin_days} days",
                    where,
                    "build and seal a fresh bundle on the connected side (airgap_expiry_margin_days sets the margin)",
                )
            ]
    return []


def _older_than_deployed(manifest: Mapping[str, Any], digest: str, accepted_dir: Path | None) -> str | None:
    from airgapctl.bundle import trust

    if accepted_dir is None or not (accepted_dir / trust.STATE_FILE).exists():
        return None
    try:
        last = trust.read_accepted(str(accepted_dir)).get(manifest["name"])
    except trust.TrustError as error:
        return f"the record of deployed bundles cannot be read: {one_line(error.message)}"
    if last is None:
        return None
    same = manifest["sequence"] == last["sequence"] and digest == last["manifest_sha256"]
    if manifest["sequence"] > last["sequence"] or same:
        return None
    what = "another bundle of the same" if manifest["sequence"] == last["sequence"] else "an older"
    return (
        f"the bundle {manifest['name']} sequence {manifest['sequence']} is {what} sequence than the last one "
        f"provisioned from this controller (sequence {last['sequence']}, {last['accepted']}) [{accepted_dir}]"
    )


def record_deployed(verified: list[tuple[Path, Path]], accepted_dir: Path, now: dt.datetime) -> None:
    """After a run that succeeded: its bundles become the last deployed (a check verifies them again)."""
    from airgapctl.bundle import trust
    from airgapctl.bundle.keys import signature_ok

    for bundle, pubkey in dict.fromkeys(verified):
        verdict = trust.verify(str(bundle), Path(pubkey), signature_ok, now, state_dir=None, commit=False)
        with trust.state_lock(str(accepted_dir), create=True):
            records = trust.read_accepted(str(accepted_dir))
            if _older_than_deployed(verdict.manifest, verdict.manifest_sha256, accepted_dir) is None:
                trust.record_accepted(str(accepted_dir), records, verdict.manifest, verdict.manifest_sha256, now)


def load_policy_file(path: Path, where: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    from airgapctl.errors import AirgapError
    from airgapctl.gateway.policy import load_policy

    try:
        policy, _ = load_policy(path)
    except AirgapError as error:
        fix = error.hint or "compile it again with 'airgapctl specs compile'"
        return None, [Problem(f"not a valid compiled policy: {one_line(error.message)}", where, fix)]
    return policy, []


def check_access(access: Path, policy: dict[str, Any] | None, where: str) -> list[Problem]:
    """Compile the access file (specs validated without the cache, nothing written) and compare."""
    from airgapctl.errors import AirgapError
    from airgapctl.specs.compile import compile_files
    from airgapctl.specs.conflicts import PolicyConflictError
    from airgapctl.specs.validate import validate_spec

    try:
        result = compile_files(access, lambda path: validate_spec(path, use_cache=False))
    except PolicyConflictError as error:
        return [
            Problem(f"access file does not compile: {one_line(d.text)}", where, d.fix or "fix access.yml or the spec")
            for d in error.details
        ]
    except AirgapError as error:
        issues = [str(i) for r in getattr(error, "results", ()) for i in (r.issues or ())]
        what = "; ".join(issues[:3]) if issues else one_line(error.message)
        return [Problem(f"access file does not compile: {one_line(what)}", where, error.hint or "fix it")]
    if policy is not None and result.policy_id != policy.get("policy_id"):
        return [
            Problem(
                f"the compiled policy is not the one the access file compiles to ({result.policy_id[:19]})",
                where,
                "compile it again: airgapctl specs compile",
            )
        ]
    return []


def check_credentials(
    policy: dict[str, Any], credentials: Any, policy_where: str, credentials_where: str
) -> list[Problem]:
    """Every credential an upstream names is an entry of secrets_credentials."""
    names = set(credentials) if isinstance(credentials, Mapping) else set()
    problems = []
    for api in policy.get("apis", []):
        credential = (api.get("upstream") or {}).get("credential")
        if credential and credential not in names:
            problems.append(
                Problem(
                    f"the upstream of api {api['name']} (policy {policy_where}) names credential {credential}, "
                    "which secrets_credentials does not hold",
                    credentials_where,
                    f"add it: airgapctl vault set {credential} --file <the credentials file>",
                )
            )
    return problems


def check_tls(
    files: Mapping[str, tuple[Path, str]], margin_days: int, crl_min_days: float, now: dt.datetime
) -> list[Problem]:
    """``files``: variable -> (path, where) for the server cert, key, client CA and CRL."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from airgapctl.ca.crl import check_crl
    from airgapctl.ca.store import load_certificate
    from airgapctl.errors import AirgapError

    problems: list[Problem] = []
    loaded: dict[str, Any] = {}
    kinds = {
        "gateway_proxy_server_cert_src": "server certificate",
        "gateway_proxy_client_ca_src": "client CA certificate",
    }
    for name, (path, where) in files.items():
        if not path.is_file():
            problems.append(Problem(f"{shown(path)} does not exist", where, "give the file airgapctl ca wrote"))
            continue
        if name in kinds:
            try:
                loaded[name] = load_certificate(path, kinds[name])
            except AirgapError as error:
                problems.append(Problem(one_line(error.message), where, "give the PEM file airgapctl ca issue wrote"))
        elif name == "gateway_proxy_server_key_src":
            try:
                loaded[name] = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as error:
                problems.append(
                    Problem(
                        f"{shown(path)} is not an unencrypted PEM private key ({one_line(error)})",
                        where,
                        "NGINX reads the key unattended: give the key airgapctl ca issue wrote",
                    )
                )
    cert = loaded.get("gateway_proxy_server_cert_src")
    key = loaded.get("gateway_proxy_server_key_src")
    if cert is not None and key is not None:
        raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if cert.public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
            problems.append(
                Problem(
                    f"the key {shown(files['gateway_proxy_server_key_src'][0])} is not the server certificate's",
                    files["gateway_proxy_server_cert_src"][1],
                    "give the .crt and .key airgapctl ca issue server wrote together",
                )
            )
    if cert is not None:
        try:
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            addresses = sans.get_values_for_type(x509.IPAddress)
        except x509.ExtensionNotFound:
            addresses = []
        if SELFTEST_ADDRESS not in addresses:
            problems.append(
                Problem(
                    "the server certificate's SANs lack 127.0.0.1, which the gateway's self-test connects to",
                    files["gateway_proxy_server_cert_src"][1],
                    "issue it again with --san 127.0.0.1 (airgapctl ca issue server)",
                )
            )
    for name, cert_obj in loaded.items():
        if name not in kinds:
            continue
        left = cert_obj.not_valid_after_utc - now
        if left < dt.timedelta(days=margin_days):
            state = "expired" if left.total_seconds() <= 0 else f"expires in {_days(left)}"
            problems.append(
                Problem(
                    f"the {kinds[name]} {state} ({cert_obj.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}), "
                    f"within the site's margin of {margin_days} days",
                    files[name][1],
                    "issue a new one with airgapctl ca and deploy it (airgap_expiry_margin_days sets the margin)",
                )
            )
    crl = files.get("gateway_proxy_client_crl_src")
    ca = files.get("gateway_proxy_client_ca_src")
    if crl is not None and ca is not None and crl[0].is_file() and "gateway_proxy_client_ca_src" in loaded:
        try:
            checked = check_crl(crl[0], ca[0], min_valid_days=max(margin_days, crl_min_days), now=now)
        except AirgapError as error:
            problems.append(Problem(one_line(error.message), crl[1], "give the CRL airgapctl ca crl wrote"))
        else:
            if checked.problem:
                problems.append(Problem(one_line(checked.problem), crl[1], "airgap_expiry_margin_days sets the margin"))
    return problems
