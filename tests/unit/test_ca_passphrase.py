"""The CA passphrase: from a file, the environment, or a terminal; never shown, never a prompt without one."""

from __future__ import annotations

import pytest

from airgapctl.ca import passphrase as module
from airgapctl.ca.passphrase import ENV_VAR, Passphrase, check_new_passphrase, read_passphrase
from airgapctl.errors import BadInputError

SECRET = "a passphrase nobody should see"  # noqa: S105  # a test value


def _file(tmp_path, data: bytes, mode: int = 0o600):
    path = tmp_path / "passphrase"
    path.write_bytes(data)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"])
def test_a_file_holds_it_on_one_line(tmp_path, ending):
    assert read_passphrase(_file(tmp_path, SECRET.encode() + ending), environ={}).reveal() == SECRET.encode()


def test_the_file_wins_over_the_environment(tmp_path):
    path = _file(tmp_path, b"from the file")
    assert read_passphrase(path, environ={ENV_VAR: "from the environment"}).reveal() == b"from the file"


def test_the_environment_is_used_without_a_file():
    assert read_passphrase(None, environ={ENV_VAR: SECRET}).reveal() == SECRET.encode()


@pytest.mark.parametrize(
    ("data", "mode", "problem"),
    [(b"", 0o600, "is empty"), (b"\n", 0o600, "is empty"), (b"x" * 20, 0o644, "readable by group or others")],
)
def test_bad_files_are_refused(tmp_path, data, mode, problem):
    with pytest.raises(BadInputError, match=problem):
        read_passphrase(_file(tmp_path, data, mode), environ={})


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(BadInputError, match=f"passphrase file {tmp_path / 'nope'} does not exist"):
        read_passphrase(tmp_path / "nope", environ={})


def test_an_empty_variable_is_refused():
    with pytest.raises(BadInputError, match=f"{ENV_VAR} is set but empty"):
        read_passphrase(None, environ={ENV_VAR: ""})


def test_without_a_terminal_there_is_no_prompt(monkeypatch):
    monkeypatch.setattr(module, "_on_terminal", lambda: False)

    def ask(prompt):
        raise AssertionError("prompted without a terminal")

    with pytest.raises(BadInputError, match="no CA passphrase given, and no terminal") as error:
        read_passphrase(None, environ={}, ask=ask)
    assert ENV_VAR in error.value.hint and "--passphrase-file" in error.value.hint


def test_on_a_terminal_it_is_asked_and_a_new_one_confirmed(monkeypatch):
    monkeypatch.setattr(module, "_on_terminal", lambda: True)
    answers = iter([SECRET, SECRET])
    assert read_passphrase(None, confirm=True, environ={}, ask=lambda _: next(answers)).reveal() == SECRET.encode()
    answers = iter([SECRET, SECRET + "x"])
    with pytest.raises(BadInputError, match="the two passphrases differ"):
        read_passphrase(None, confirm=True, environ={}, ask=lambda _: next(answers))
    with pytest.raises(BadInputError, match="is empty"):
        read_passphrase(None, environ={}, ask=lambda _: "")


def test_it_never_shows_itself():
    secret = Passphrase(SECRET.encode())
    assert SECRET not in repr(secret) and SECRET not in str(secret) and SECRET not in f"{secret} {[secret]}"


def test_a_new_ca_needs_a_long_passphrase():
    check_new_passphrase(Passphrase(b"twelve chars"))
    with pytest.raises(BadInputError, match="has 11 characters; a new CA needs at least 12") as error:
        check_new_passphrase(Passphrase(b"eleven char"))
    assert "eleven char" not in error.value.message
