"""The credential include file: its format, its rules, and the one definition the role ships a copy of."""

from __future__ import annotations

import ast
import json
import random
import re
import sys
from datetime import date
from pathlib import Path

import pytest

from airgapctl.gateway import credentials
from airgapctl.gateway.credentials import (
    DEFAULT_HEADER,
    MAX_QUOTED_LENGTH,
    RESERVED_HEADERS,
    CredentialError,
    include_text,
)
from airgapctl.gateway.render import RenderOptions, render_templates, template_variables
from tests.integration.gateway.scenario import scenario_policy

REPO = Path(__file__).parents[2]
SOURCE = REPO / "airgapctl" / "gateway" / "credentials.py"
ROLE = REPO / "roles" / "secrets"
COPY = ROLE / "module_utils" / "airgap_credentials.py"
MODULE = ROLE / "library" / "airgap_credential.py"
CANARY = "canary-3c9e-never-printed"


def nginx_unquote(word: str) -> str:
    """What NGINX's configuration reader (ngx_conf_read_token) makes of a double-quoted word."""
    assert word.startswith('"') and word.endswith('"')
    inner, out, i = word[1:-1], [], 0
    while i < len(inner):
        if inner[i] == "\\" and i + 1 < len(inner):
            nxt = inner[i + 1]
            if nxt in "\"'\\":
                out.append(nxt)
                i += 2
                continue
            if nxt in "tnr":
                out.append({"t": "\t", "n": "\n", "r": "\r"}[nxt])
                i += 2
                continue
        assert inner[i] != '"', "an unescaped quote would end the word early"
        out.append(inner[i])
        i += 1
    return "".join(out)


def directive(text: str) -> tuple[str, str]:
    (line,) = [line for line in text.splitlines() if not line.startswith("#")]
    match = re.fullmatch(r'proxy_set_header ([A-Za-z0-9-]+) ("(?:[^"\\]|\\.)*");', line)
    assert match, line
    return match.group(1), nginx_unquote(match.group(2))


def test_the_file_is_a_comment_naming_the_credential_and_one_directive():
    text = include_text("pets-api-token", None, f"Bearer {CANARY}")
    assert text == (
        "# Managed by airgapctl (the secrets role): upstream credential pets-api-token. Edits here are replaced;\n"
        "# change the credential with 'airgapctl vault rotate pets-api-token' and converge.\n"
        f'proxy_set_header Authorization "Bearer {CANARY}";\n'
    )
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert comments and not any(CANARY in line for line in comments)


@pytest.mark.parametrize(
    "value",
    ['a"b', "a\\b", "\\", '\\"', "a\\tb", "a\\nb", "x;y{z}#w", "a'b", "100%", "  inner  spaces ", "~!@#%^&*()"],
)
def test_quotes_and_backslashes_are_escaped_so_nginx_reads_the_value_back(value):
    value = value.strip()
    header, read_back = directive(include_text("c", "X-Api-Key", value))
    assert (header, read_back) == ("X-Api-Key", value)


def test_every_printable_value_but_dollar_reads_back_unchanged():
    alphabet = [chr(c) for c in range(0x20, 0x7F) if chr(c) != "$"]
    rng = random.Random(7)
    for _ in range(500):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))).strip() or "x"
        assert directive(include_text("c", None, value)) == (DEFAULT_HEADER, value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (f"{CANARY}$x", "'$' at character 26"),
        (f"${{{CANARY}}}", "'$' at character 1"),
        (f"{CANARY}\n", "a line feed"),
        (f"{CANARY}\r\nX-Evil: 1", "a carriage return"),
        (f"{CANARY}\t", "a tab"),
        (f"{CANARY}\x00", "control character U+0000"),
        (f"{CANARY}\x7f", "a DEL character"),
        (f"{CANARY}é", "a non-ASCII character"),
        (f"{CANARY}\udcff", "a non-ASCII character"),
        (f" {CANARY}", "starts or ends with a space"),
        (f"{CANARY} ", "starts or ends with a space"),
        ("", "empty"),
        (CANARY * 400, f"more than {MAX_QUOTED_LENGTH}"),
        (CANARY + "\\" * 2000, f"characters once quoted for NGINX, more than {MAX_QUOTED_LENGTH}"),
    ],
)
def test_values_nginx_could_not_send_exactly_are_refused_without_quoting_them(value, reason):
    with pytest.raises(CredentialError) as error:
        include_text("pets", None, value)
    assert reason in error.value.message
    assert error.value.message.startswith("credential pets: ")
    assert CANARY not in error.value.message + error.value.hint


def test_the_length_limit_counts_the_escapes_nginx_reads():
    assert directive(include_text("c", None, "x" * MAX_QUOTED_LENGTH))[1] == "x" * MAX_QUOTED_LENGTH
    assert directive(include_text("c", None, "\\" * (MAX_QUOTED_LENGTH // 2)))[1] == "\\" * (MAX_QUOTED_LENGTH // 2)
    with pytest.raises(CredentialError, match="once quoted"):
        include_text("c", None, '"' * (MAX_QUOTED_LENGTH // 2 + 1))


def test_a_value_that_is_not_text_is_refused():
    with pytest.raises(CredentialError, match="not text"):
        include_text("pets", None, 12345)  # type: ignore[arg-type]


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key", "Api-Key2", "x-token"])
def test_named_headers(header):
    assert directive(include_text("c", header, "v"))[0] == header


@pytest.mark.parametrize(
    "header", ["", "X_Api_Key", "X Api", "X-$host", "X-Key:", '"X"', "1-Key", "X-Key\n", "É", "X" * 65]
)
def test_header_names_outside_the_safe_token_subset_are_refused(header):
    with pytest.raises(CredentialError, match="is not a header name"):
        include_text("c", header, "v")


@pytest.mark.parametrize("header", ["Host", "X-Request-Id", "x-client-identity", "Content-Type", "Connection",
                                    "Transfer-Encoding", "X-Forwarded-For", "X-HTTP-Method-Override"])  # fmt: skip
def test_headers_the_gateway_sets_or_framing_headers_are_refused(header):
    with pytest.raises(CredentialError, match="sets itself"):
        include_text("c", header, "v")


def test_the_reserved_list_covers_every_header_the_rendered_gateway_sets():
    variables = template_variables(scenario_policy(8080, 8081), RenderOptions(now=date(2026, 6, 1)))
    set_by_gateway = set()
    for text in render_templates(variables).values():
        set_by_gateway |= {name.lower() for name in re.findall(r"^\s*proxy_set_header\s+(\S+)", text, re.MULTILINE)}
    assert len(set_by_gateway) > 10
    assert set_by_gateway - RESERVED_HEADERS == set()


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "-lead", ".hidden", "a b", "", "x" * 64, "pets\n", 7])
def test_names_that_are_not_vault_entry_names_are_refused(name):
    with pytest.raises(CredentialError, match="is not a vault entry name"):
        include_text(name, None, "v")  # type: ignore[arg-type]


def test_names_follow_access_yml_and_the_gateway_takes_the_same_rule():
    schema = json.loads((REPO / "airgapctl" / "schemas" / "access.schema.json").read_text())
    patterns = re.findall(r'"pattern": "(\^\[A-Za-z0-9\]\[A-Za-z0-9_\.-\]\{0,62\}\$)"', json.dumps(schema))
    assert credentials.NAME_PATTERN in patterns
    from airgapctl.gateway import upstreams

    assert upstreams._CREDENTIAL.pattern == credentials.NAME_PATTERN
    assert credentials.include_file_name("x" * 63) == "x" * 63 + ".conf"


def test_the_roles_copy_is_byte_identical():
    assert COPY.is_file() and not COPY.is_symlink(), f"{COPY} must be a regular file: run make module-utils"
    assert COPY.read_bytes() == SOURCE.read_bytes(), f"{COPY} is stale: run make module-utils"


def test_the_format_module_imports_only_the_standard_library():
    imported = set()
    for node in ast.walk(ast.parse(SOURCE.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            imported.add((node.module or "").split(".")[0])
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported


def test_the_modules_defaults_are_the_formats():
    for node in ast.walk(ast.parse(MODULE.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "argument_spec":
            spec = ast.literal_eval(node.value)
    assert spec["header"]["default"] == DEFAULT_HEADER
    assert spec["value"]["no_log"] is True
