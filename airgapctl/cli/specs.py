"""``airgapctl specs``: check OpenAPI definitions offline (and compile them into the site policy)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from airgapctl.output import print_json
from airgapctl.specs import report
from airgapctl.specs.validate import SpecResult, SpecsInvalidError, summary_error, validate_specs

app = typer.Typer(
    help="Validate preloaded OpenAPI definitions and compile them with the access policy into policy.json.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")
CACHE_DIR_OPT = typer.Option(
    None,
    "--cache-dir",
    help="Directory for cached validation verdicts [default: $XDG_CACHE_HOME/airgapctl/specs].",
    show_default=False,
)
NO_CACHE_OPT = typer.Option(False, "--no-cache", help="Validate from scratch; neither read nor write cached verdicts.")
SPEC_FILES_ARG = typer.Argument(
    ...,
    metavar="FILE",
    help="OpenAPI 2.0, 3.0 or 3.1 files (YAML or JSON); their $refs are read from local files only.",
    show_default=False,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="specs")


@app.command()
def validate(
    files: list[Path] = SPEC_FILES_ARG,
    cache_dir: Path | None = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Check OpenAPI definitions offline: $refs, the OpenAPI schema and the operation rules; exit 1 on problems."""
    results = validate_specs(files, cache_dir, use_cache=not no_cache)
    if as_json:
        failed = any(result.issues for result in results)
        print_json({"specs": [_json_result(result) for result in results]}, status="failed" if failed else "ok")
        hint = "the JSON document on stdout lists each problem"
    else:
        for result in results:
            _print_result(result)
        hint = "each problem is listed above as FILE:POINTER: message"
    error = summary_error(results, hint=hint)
    if error is not None:
        raise error


def _print_result(result: SpecResult) -> None:
    if result.spec is None:
        for line in report.text_lines(result.issues, result.path):
            print(line, file=sys.stderr)
        return
    spec = result.spec
    count = len(spec.operations)
    print(
        f"ok {result.path} (openapi {spec.openapi_version}, {count} operation{'' if count == 1 else 's'},"
        f" sha256 {spec.sha256[:8]}…)"
    )
    for warning in report.ordered(spec.warnings, result.path):
        print(f"warning: {report.line(warning)}", file=sys.stderr)


def _json_result(result: SpecResult) -> dict[str, object]:
    spec = result.spec
    return {
        "path": result.path,
        "valid": spec is not None,
        "openapi_version": spec.openapi_version if spec else None,
        "title": spec.title if spec else None,
        "operations": len(spec.operations) if spec else None,
        "sha256": spec.sha256 if spec else None,
        "files": list(spec.files) if spec else [],
        "issues": [report.issue_json(issue) for issue in report.ordered(result.issues, result.path)],
        "groups": report.groups_json(result.issues, result.path),
        "summary": report.counts(result.issues),
        "warnings": [report.issue_json(w) for w in report.ordered(spec.warnings, result.path)] if spec else [],
    }


ACCESS_OPT = typer.Option(..., "--access", help="The site's access policy (access.yml); spec paths are relative to it.")
POLICY_OUT_OPT = typer.Option(
    ..., "--out", help="Where to write the compiled policy (policy.json); replaced atomically."
)


@app.command("compile")
def compile_policy(
    access: Path = ACCESS_OPT,
    out: Path = POLICY_OUT_OPT,
    cache_dir: Path | None = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Compile the specs named in access.yml into policy.json; exit 1 on conflicts, listing each."""
    from airgapctl.specs.compile import compile_files, write_policy
    from airgapctl.specs.conflicts import PolicyConflictError
    from airgapctl.specs.validate import validate_spec

    try:
        result = compile_files(access, lambda path: validate_spec(path, cache_dir, use_cache=not no_cache))
    except SpecsInvalidError as error:  # the specs' own problems, each as `specs validate` shows it
        results = [r for r in error.results if r.issues]
        if as_json:
            print_json({"specs": [_json_result(r) for r in results]}, status="failed")
        else:
            for failed in results:
                _print_result(failed)
        raise
    except PolicyConflictError as error:
        if as_json:
            print_json({"problems": [problem.as_json() for problem in error.details]}, status="failed")
        elif len(error.details) > 1:  # one problem is the error line itself
            for problem in error.details:
                print(problem.line(), file=sys.stderr)
        raise
    write_policy(result.policy, out)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    policy = result.policy
    summary = {"policy_id": policy["policy_id"], "out": str(out), "apis": len(policy["apis"]),
               "operations": len(policy["operations"]), "roles": len(policy["roles"]),
               "clients": len(policy["clients"]), "warnings": result.warnings}  # fmt: skip
    if as_json:
        print_json(summary)
        return
    print(f"policy {policy['policy_id']} written to {out}")
    print(f"  apis: {summary['apis']}; operations: {summary['operations']}; roles: {summary['roles']};"
          f" clients: {summary['clients']}; warnings: {len(result.warnings)}")  # fmt: skip
