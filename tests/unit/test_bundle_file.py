"""bundle.yml and the build's other inputs: problems are one line naming the field or option, before any download."""

from __future__ import annotations

import os
import re
import site
import subprocess
from pathlib import Path

import pytest
import typer
import yaml

from airgapctl.bundle_build import bundle_file, collections, inputs, wheels
from airgapctl.bundle_build.build import tree_files
from airgapctl.bundle_build.bundle_file import load_bundle_file, sha256_file
from airgapctl.cli import bundle as bundle_cli
from airgapctl.errors import BadInputError, EnvironmentProblem, ExitCode
from airgapctl.schemas import check_document, load_schema

REPO = Path(__file__).parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "bundle" / "test-bundle.yml"
BASE = {"version": 1, "name": "site-a", "release": "1", "sequence": 3}


def write(tmp_path, **changes):
    path = tmp_path / "bundle.yml"
    path.write_text(yaml.safe_dump({**BASE, **changes}))
    return path


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"colour": "red"}, "/: Additional properties are not allowed ('colour' was unexpected)"),
        ({"sequence": "three"}, "/sequence: 'three' is not of type 'integer'"),
        ({"apt": "nginx"}, "/apt: 'nginx' is not of type 'array'"),
        ({"files": [{"src": "x", "mode": "0644"}]}, "/files/0: Additional properties are not allowed"),
    ],
)
def test_schema_errors_name_the_field(tmp_path, changes, fragment):
    with pytest.raises(BadInputError) as exc:
        load_bundle_file(write(tmp_path, **changes))
    assert exc.value.exit_code == ExitCode.BAD_INPUT
    assert fragment in exc.value.message and "\n" not in exc.value.message


def test_missing_files_name_the_field(tmp_path):
    with pytest.raises(BadInputError, match=r"files\[0\]\.src: nope.deb does not exist"):
        load_bundle_file(write(tmp_path, files=[{"src": "nope.deb"}]))
    with pytest.raises(BadInputError, match=r"specs\[0\]: specs/ does not exist"):
        load_bundle_file(write(tmp_path, specs=["specs/"]))


def test_supplied_file_must_match_its_digest(tmp_path):
    supplied = tmp_path / "fluent-package.deb"
    supplied.write_bytes(b"not the vetted one")
    with pytest.raises(BadInputError, match=r"files\[0\]\.sha256: fluent-package.deb has sha256 .* expected 0{16}"):
        load_bundle_file(write(tmp_path, files=[{"src": supplied.name, "sha256": "0" * 64}]))
    ok = load_bundle_file(write(tmp_path, files=[{"src": supplied.name, "sha256": sha256_file(supplied)}]))
    assert ok.files[0].dest == "fluent-package.deb"


def test_defaults(tmp_path):
    spec = load_bundle_file(write(tmp_path))
    assert (spec.baseline, spec.python, spec.airgapctl_wheels, spec.toolkit) == ("lab", "3.11", True, True)


def test_wheel_and_toolkit_take_a_path_instead_of_true(tmp_path):
    wheel = tmp_path / "dist" / "airgapctl-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"PK")
    (tmp_path / "toolkit").mkdir()
    spec = load_bundle_file(write(tmp_path, wheels={"airgapctl": "dist/" + wheel.name}, toolkit="toolkit"))
    assert (spec.airgapctl_wheels, spec.airgapctl_wheel) == (True, wheel)
    assert (spec.toolkit, spec.toolkit_dir) == (True, tmp_path / "toolkit")
    off = load_bundle_file(write(tmp_path, wheels={"airgapctl": False}, toolkit=False))
    assert (off.airgapctl_wheels, off.airgapctl_wheel, off.toolkit, off.toolkit_dir) == (False, None, False, None)
    with pytest.raises(BadInputError, match=r"wheels\.airgapctl: nope.whl does not exist"):
        load_bundle_file(write(tmp_path, wheels={"airgapctl": "nope.whl"}))
    with pytest.raises(BadInputError, match=r"toolkit: elsewhere does not exist"):
        load_bundle_file(write(tmp_path, toolkit="elsewhere"))


def test_installed_airgapctl_needs_its_wheel_given(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "checkout_dir", lambda: None)
    spec = load_bundle_file(write(tmp_path))
    with pytest.raises(BadInputError) as exc:
        inputs.resolve_inputs(spec, inputs.BuildInputs())
    assert "wheels.airgapctl: airgapctl" in exc.value.message and "not a checkout" in exc.value.message
    assert "--airgapctl-wheel" in exc.value.hint
    wheel = tmp_path / "airgapctl-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    resolved = inputs.resolve_inputs(spec, inputs.BuildInputs(airgapctl_wheel=wheel))
    assert resolved.airgapctl_wheel == wheel
    with pytest.raises(BadInputError, match=r"--airgapctl-wheel: .*bundle.yml is not an airgapctl wheel"):
        inputs.resolve_inputs(spec, inputs.BuildInputs(airgapctl_wheel=tmp_path / "bundle.yml"))


def test_defaults_need_no_checkout_but_for_the_wheel(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "checkout_dir", lambda: None)
    spec = load_bundle_file(write(tmp_path, wheels={"airgapctl": False}))
    resolved = inputs.resolve_inputs(spec, inputs.BuildInputs())
    assert resolved.toolkit == inputs.PACKAGED_TOOLKIT.resolve()
    assert resolved.baseline == "lab"
    assert resolved.collections_path == tuple(Path(p) for p in site.getsitepackages())
    status = tmp_path / "status"
    status.write_text("Package: base-files\n")
    given = inputs.BuildInputs(toolkit=tmp_path, baseline=status, collections_path=(tmp_path,))
    resolved = inputs.resolve_inputs(spec, given)
    assert (resolved.toolkit, resolved.baseline, resolved.collections_path) == (tmp_path, str(status), (tmp_path,))


def test_the_packaged_toolkit_is_the_checkouts(tmp_path):
    for part in inputs.TOOLKIT_PARTS:
        assert inputs.toolkit_part(inputs.PACKAGED_TOOLKIT, part) == (REPO / part).resolve()
    with pytest.raises(BadInputError, match=r"toolkit: .*roles is missing") as exc:
        inputs.toolkit_part(tmp_path, "roles")
    assert "--toolkit DIR" in exc.value.hint


def test_lab_baseline_without_docker_says_how_to_give_a_status_file(tmp_path, monkeypatch):
    monkeypatch.setattr("airgapctl.lab.daemon.daemon_version", lambda: None)
    with pytest.raises(EnvironmentProblem, match=r"target\.baseline: lab reads the lab image") as exc:
        inputs.lab_baseline(tmp_path)
    assert "--baseline FILE" in exc.value.hint and "target.baseline: FILE" in exc.value.hint


def test_a_missing_collection_names_the_search_path_option(tmp_path):
    found = tmp_path / "ansible_collections" / "ansible" / "posix"
    found.mkdir(parents=True)
    (found / "MANIFEST.json").write_text('{"collection_info": {"version": "2.0.0"}}')
    for root in (tmp_path, tmp_path / "ansible_collections"):  # either, as ANSIBLE_COLLECTIONS_PATH takes
        assert collections.installed_collection("ansible.posix", [root]) == (found, "2.0.0")
    with pytest.raises(BadInputError, match=r"'community.docker' is not installed in the collections search") as exc:
        collections.installed_collection("community.docker", [tmp_path])
    assert "--collections-path" in exc.value.hint


def test_the_wheel_build_gets_its_epoch_without_touching_this_process(tmp_path, monkeypatch):
    seen = {}

    def fake_pip(*args, tick=None, env=None):
        seen.update(args=args, env=env)
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setattr(wheels, "_pip", fake_pip)
    (tmp_path / "project" / "build").mkdir(parents=True)
    wheels.build_project_wheel(tmp_path / "project", tmp_path / "out")
    assert seen["env"]["SOURCE_DATE_EPOCH"] == wheels.REPRODUCIBLE_EPOCH
    assert "SOURCE_DATE_EPOCH" not in os.environ
    assert seen["args"][-1] != str(tmp_path / "project")  # a clean copy, without the stale build/
    monkeypatch.chdir(tmp_path / "project")
    wheels.build_project_wheel(Path("."), tmp_path / "out")  # the current folder too


@pytest.mark.parametrize("example", [REPO / "examples" / "lab" / "bundle.yml", FIXTURE])
def test_the_shipped_bundle_files_load(example):
    assert load_bundle_file(example).name


DOC = REPO / "docs" / "bundle-file.md"


def doc_examples() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(), re.MULTILINE | re.DOTALL)


def schema_keys(schema: dict, prefix: str = "") -> list[str]:
    """Every key the schema declares, dotted as the doc writes them: target.baseline, files[].src."""
    keys = []
    for name, sub in schema.get("properties", {}).items():
        keys += [prefix + name, *schema_keys(sub, f"{prefix}{name}.")]
    if "properties" in schema.get("items", {}):
        keys += schema_keys(schema["items"], prefix[:-1] + "[].")
    return keys


def test_the_doc_examples_are_valid_bundle_files(tmp_path, monkeypatch):
    assert doc_examples()
    for index, example in enumerate(doc_examples()):
        document = yaml.safe_load(example)
        check_document(document, "bundle", f"docs/bundle-file.md example {index}")  # the schema, verbatim
        # load_bundle_file also wants every path it names to exist: placeholders stand in for them.
        target, wheel = document.get("target", {}).get("baseline"), document.get("wheels", {}).get("airgapctl")
        for name in [*document.get("specs", []), *(f["src"] for f in document.get("files", [])), target, wheel]:
            if isinstance(name, str) and name != "lab":
                (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / name).write_text("placeholder\n")
        digests = {tmp_path / f["src"]: f["sha256"] for f in document.get("files", []) if "sha256" in f}
        monkeypatch.setattr(bundle_file, "sha256_file", lambda path, digests=digests: digests[Path(path)])
        (tmp_path / "bundle.yml").write_text(example)
        assert load_bundle_file(tmp_path / "bundle.yml").name == document["name"]


def test_the_doc_names_every_key_and_every_build_option():
    text = DOC.read_text()
    missing = [key for key in schema_keys(load_schema("bundle")) if f"`{key}`" not in text]
    assert not missing, f"docs/bundle-file.md does not describe {missing}"
    build = typer.main.get_command(bundle_cli.app).commands["build"]
    options = [opt for param in build.params for opt in param.opts if opt.startswith("--") and opt != "--help"]
    assert [opt for opt in options if f"`{opt}" not in text] == []
    example = yaml.safe_load(doc_examples()[-1])
    assert set(load_schema("bundle")["properties"]) == set(example), "the complete example uses every key"


def test_a_toolkit_under_a_cache_folder_is_carried_but_not_the_caches_inside_it(tmp_path):
    toolkit = tmp_path / ".cache" / "venv" / "toolkit"  # where pipx and test venvs put installed packages
    for name in ("roles/r/tasks/main.yml", "roles/r/__pycache__/x.pyc", "roles/r/molecule/default/.molecule/state"):
        (toolkit / name).parent.mkdir(parents=True, exist_ok=True)
        (toolkit / name).write_text("x\n")
    assert [p.relative_to(toolkit).as_posix() for p in tree_files(toolkit)] == ["roles/r/tasks/main.yml"]


def test_sealed_credentials_never_travel_with_the_toolkit(tmp_path):
    from airgapctl.bundle_build.build import toolkit_files

    for part in inputs.TOOLKIT_PARTS:
        (tmp_path / part).mkdir() if "." not in part else (tmp_path / part).write_text("x\n")
    vars_dir = tmp_path / "inventory" / "site" / "group_vars" / "gateways"
    vars_dir.mkdir(parents=True)
    (vars_dir / "main.yml").write_text("gateway_proxy_listen: '8443'\n")
    (vars_dir / "vault.yml").write_text(
        "secrets_credentials:\n  t:\n    value: !vault |\n      $ANSIBLE_VAULT;1.2;AES256;x\n"
    )
    (tmp_path / "inventory" / "site" / "vault-pass").write_text("the password\n")
    (tmp_path / "roles" / "README.md").write_text("A sealed value:\n\n    $ANSIBLE_VAULT;1.2;AES256;airgap\n")
    (tmp_path / "roles" / "env.yml").write_text("x: ${ANSIBLE_VAULT_PASSWORD_FILE}\n")
    carried = {relative for _, relative in toolkit_files(tmp_path)}
    assert "toolkit/inventory/site/group_vars/gateways/main.yml" in carried
    assert not any(relative.endswith(("vault.yml", "vault-pass")) for relative in carried)
    # Documentation may show the format, and a variable's name is no credential.
    assert {"toolkit/roles/README.md", "toolkit/roles/env.yml"} <= carried
