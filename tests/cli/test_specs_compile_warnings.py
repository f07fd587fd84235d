"""`airgapctl specs compile` reports paths the gateway would refuse: on stderr and in --json data."""

from __future__ import annotations

import json

import yaml

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "files", "version": "1"},
    "paths": {
        "/files/<upload_url>": {"put": {"operationId": "upload", "responses": {"200": {"description": "ok"}}}},
        "/files": {"get": {"operationId": "list", "responses": {"200": {"description": "ok"}}}},
    },
}
ACCESS = {
    "version": 1,
    "site": "lab",
    "apis": [{"name": "files", "spec": "files.yaml", "base_path": "/f", "upstream": {"url": "http://127.0.0.1:9"}}],
    "roles": [{"name": "admin", "allow": [{"path": "/**"}]}],
    "clients": [{"name": "ops", "subject": "CN=ops,O=Example", "roles": ["admin"]}],
}
WARNING = "files.yaml:/paths/~1files~1<upload_url>/put: PUT /f/files/<upload_url>: the gateway refuses this path"


def test_non_canonical_declared_path_is_a_warning(cli, tmp_path):
    (tmp_path / "files.yaml").write_text(yaml.safe_dump(SPEC))
    (tmp_path / "access.yml").write_text(yaml.safe_dump(ACCESS))
    args = ["specs", "compile", "--access", str(tmp_path / "access.yml"), "--out", str(tmp_path / "policy.json")]

    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"warning: {WARNING}")
    assert "warnings: 1" in result.stdout

    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    (warning,) = json.loads(result.stdout)["data"]["warnings"]
    assert warning.startswith(WARNING)
