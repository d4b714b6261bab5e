"""``gpserver user`` and ``gpserver role`` on a store in a temporary directory."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gpserver.cli import main
from gpserver.db import Database, sqlite_url
from gpserver.security.passwords import verify_password
from gpserver.security.store import SecurityStore


def run(
    data: Path, *args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch
) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--log-level", "warning", *args, "--data-dir", str(data)])


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with an Administrators role and its one member, bob."""
    data = tmp_path / "data"
    for args, stdin in [
        (["role", "add", "Administrators", "--privilege", "ADMINISTER"], ""),
        (["user", "add", "bob", "--password-stdin"], "bob-password\n"),
        (["role", "assign", "Administrators", "bob"], ""),
    ]:
        assert run(data, *args, stdin=stdin, monkeypatch=monkeypatch) == 0
    return data


def stored_hash(data: Path, username: str) -> str | None:
    database = Database(sqlite_url(data / "gpserver.db"))
    try:
        return SecurityStore(database).password_hash(username)
    finally:
        database.dispose()


def test_user_add_reads_the_password_from_stdin_and_lists_users(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = run(
        data,
        *["user", "add", "carol", "--fullname", "Carol C", "--role", "Administrators"],
        *["--email", "c@example.org", "--password-stdin"],
        stdin="carol password \r\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    assert verify_password(stored_hash(data, "carol"), "carol password ")

    assert run(data, "user", "list", monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == (
        "gpserver: user carol added\n"
        "USERNAME  FULL NAME  EMAIL          ROLES\n"
        "bob                                 Administrators\n"
        "carol     Carol C    c@example.org  Administrators\n"
    )


def test_passwd_changes_the_password(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        data,
        *["user", "passwd", "bob", "--password-stdin"],
        stdin="new-bob-password\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    assert verify_password(stored_hash(data, "bob"), "new-bob-password")
    assert capsys.readouterr().out.endswith("gpserver: password of user bob changed\n")


def test_without_a_terminal_or_stdin_option_the_password_is_a_usage_error(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run(data, "user", "passwd", "bob", monkeypatch=monkeypatch) == 2
    assert capsys.readouterr().err == (
        "gpserver: no terminal to ask for the password on; "
        "pipe it in with --password-stdin\n"
    )


def test_refusals_exit_1_with_one_line(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run(data, "user", "remove", "bob", monkeypatch=monkeypatch) == 1
    assert capsys.readouterr().err == (
        "gpserver: removing user bob would leave the site without an administrator; "
        "make another user an administrator first\n"
    )
    assert (
        run(data, "role", "unassign", "Administrators", "bob", monkeypatch=monkeypatch)
        == 1
    )
    capsys.readouterr()
    code = run(
        data,
        "user",
        "add",
        "x",
        "--password-stdin",
        stdin="short\n",
        monkeypatch=monkeypatch,
    )
    assert code == 1
    assert capsys.readouterr().err == (
        "gpserver: the password must have at least 8 characters\n"
    )
    assert run(data, "user", "remove", "ghost", monkeypatch=monkeypatch) == 1
    assert capsys.readouterr().err == "gpserver: user ghost does not exist\n"


def test_a_bad_privilege_is_a_usage_error(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(data, "role", "add", "R", "--privilege", "ROOT", monkeypatch=monkeypatch)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.endswith(
        "argument --privilege: unknown privilege 'ROOT': one of ADMINISTER, "
        "PUBLISH, ACCESS\n"
    )


def test_roles_are_listed_assigned_and_their_privileges_shown_and_set(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def ok(*args: str) -> None:
        assert run(data, *args, monkeypatch=monkeypatch) == 0

    ok("role", "add", "Ops", "--admin-privileges", "servers,viewAllContent")
    ok("role", "assign", "Ops", "bob")
    ok("role", "privilege", "Ops", "PUBLISH")
    capsys.readouterr()

    ok("role", "privilege", "Ops")
    ok("role", "list")
    assert capsys.readouterr().out == (
        "PUBLISH servers viewAllContent\n"
        "ROLE            PRIVILEGE   ADMIN PRIVILEGES        USERS\n"
        "Administrators  ADMINISTER                          bob\n"
        "Ops             PUBLISH     servers,viewAllContent  bob\n"
    )

    ok("role", "unassign", "Ops", "bob")
    ok("role", "remove", "Ops")
    capsys.readouterr()
    ok("role", "list")
    assert "Ops" not in capsys.readouterr().out


def test_a_store_left_without_administrators_is_pointed_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        tmp_path / "fresh",
        *["user", "add", "bob", "--password-stdin"],
        stdin="bob-password\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    assert "no user holds ADMINISTER" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_password_is_asked_twice(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["typed-password", "typed-passwort"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    monkeypatch.setattr("sys.stdin", Terminal())
    capsys.readouterr()

    code = main(
        ["--log-level", "warning", "user", "passwd", "bob", "--data-dir", str(data)]
    )

    assert code == 1
    assert capsys.readouterr().err == (
        "gpserver: the two passwords differ; nothing was changed\n"
    )
    assert verify_password(stored_hash(data, "bob"), "bob-password")
