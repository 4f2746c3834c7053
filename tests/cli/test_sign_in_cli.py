"""Signing in and out with the CLI against the real API: the stored token (and its file's mode), an expired or
revoked token, a server that is down, a wrong password; tokens and one-time codes of one's own."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from bootstrap import System
from domain.actors import Role
from tests.cli.conftest import EXAMPLES, Cli, exit_of, sign_in
from tests.identities import PASSWORD, register


def _own_config(tmp_path: Path) -> dict[str, str]:
    """A config directory of the test's own, and no token in the environment: the stored sign-in counts."""
    return {"LIAISON_CONFIG_DIR": str(tmp_path / "config"), "LIAISON_TOKEN": ""}


async def test_login_a_command_and_logout(cli: Cli, tmp_path: Path) -> None:
    own = _own_config(tmp_path)
    signed_in = await cli("login", "--server", cli.server, actor=None, env=own, input="lo-bg\n" + PASSWORD + "\n")
    assert signed_in.exit_code == 0, signed_in.output
    assert f"signed in to {cli.server} as lo-bg (liaison_officer of BG) until" in " ".join(signed_in.output.split())
    assert PASSWORD not in signed_in.output  # the prompt does not echo it
    stored = json.loads((tmp_path / "config" / "credentials.json").read_text())
    assert stored["server"] == cli.server and stored["principal_id"] == "lo-bg" and stored["expires_at"]

    listed = await cli("operation", "list", actor=None, env=own | {"LIAISON_SERVER_URL": ""})
    assert listed.exit_code == 0 and "Operations" in listed.output, listed.output
    whoami = await cli("whoami", actor=None, env=own)
    assert whoami.exit_code == 0 and f"lo-bg (liaison_officer of BG), lo-bg, at {cli.server} until" in whoami.output

    signed_out = await cli("logout", actor=None, env=own)
    assert signed_out.exit_code == 0 and f"signed out lo-bg from {cli.server}" in signed_out.output
    assert not (tmp_path / "config" / "credentials.json").exists()
    revoked = await cli("operation", "list", actor=None, env={"LIAISON_TOKEN": stored["token"]})
    assert revoked.exit_code == exit_of("not_authenticated") and "the token is revoked" in revoked.output
    after = await cli("operation", "list", actor=None, env=own)
    assert after.exit_code == exit_of("not_authenticated"), after.output
    assert "not signed in: run `liaison login`" in after.output and "Traceback" not in after.output


async def test_the_credentials_file_is_readable_by_its_owner_only(cli: Cli, tmp_path: Path) -> None:
    own = _own_config(tmp_path) | {"LIAISON_PASSWORD": PASSWORD}
    assert (await cli("login", "--server", cli.server, "--user", "coord-1", actor=None, env=own)).exit_code == 0
    path = tmp_path / "config" / "credentials.json"
    first = json.loads(path.read_text())["token"]
    again = await cli("login", "--server", cli.server, "--user", "coord-1", actor=None, env=own)  # replaces it
    assert again.exit_code == 0, again.output
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temporary file left behind
    replaced = await cli("whoami", actor=None, env={"LIAISON_TOKEN": first})
    assert replaced.exit_code == exit_of("not_authenticated") and "revoked" in replaced.output  # not left usable


async def test_a_wrong_password_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    own = _own_config(tmp_path) | {"LIAISON_PASSWORD": "not the password at all"}
    refused = await cli("login", "--server", cli.server, "--user", "ap-el-1", actor=None, env=own)
    assert refused.exit_code == exit_of("not_authenticated"), refused.output
    assert "not signed in: sign-in failed: unknown principal or wrong password" in refused.output
    assert not (tmp_path / "config").exists()


async def test_an_expired_token_asks_for_a_new_sign_in(cli: Cli, tmp_path: Path) -> None:
    short = await sign_in(cli.server, "coord-1", expires_in_hours=0.0003)  # about a second
    await asyncio.sleep(1.5)
    expired = await cli("operation", "list", actor=None, env={"LIAISON_TOKEN": short})
    assert expired.exit_code == exit_of("not_authenticated"), expired.output
    assert "not signed in: the token is expired; sign in again with `liaison login`" in expired.output

    own = _own_config(tmp_path)
    config = tmp_path / "config"
    config.mkdir()
    (config / "credentials.json").write_text(json.dumps({
        "server": cli.server, "token": short, "principal_id": "coord-1", "expires_at": "2020-01-01T00:00:00+00:00"}))
    stale = await cli("operation", "list", actor=None, env=own)
    assert stale.exit_code == exit_of("not_authenticated")
    assert (f"not signed in: the sign-in of coord-1 to {cli.server} ended at 2020-01-01 00:00 UTC; run `liaison "
            "login` again") in " ".join(stale.output.split())


async def test_a_server_that_is_down_is_named(cli: Cli) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    down = await cli("operation", "list", env={"LIAISON_SERVER_URL": closed})
    assert down.exit_code == exit_of("unavailable"), down.output
    assert f"unavailable: cannot reach the Liaison API at {closed}: is `make run` running?" in down.output
    assert "Traceback" not in down.output


async def test_tokens_of_ones_own(cli: Cli) -> None:
    issued = await cli("token", "new", "integration", "--expires-in-hours", "2", actor="lo-bg")
    assert issued.exit_code == 0 and "shown this once" in issued.output, issued.output
    secret = next(line for line in issued.output.splitlines() if line.startswith("lsn_"))
    token_id = re.search(r"issued token (\S+) \(integration\)", issued.output)
    assert token_id is not None
    assert (await cli("whoami", actor=None, env={"LIAISON_TOKEN": secret})).exit_code == 0
    listed = await cli("token", "list", actor="lo-bg")
    assert token_id[1] in listed.output and "integration" in listed.output and secret not in listed.output
    other = await cli("token", "revoke", token_id[1], actor="lo-fr")
    assert other.exit_code == exit_of("not_found"), other.output  # not lo-fr's to revoke
    revoked = await cli("token", "revoke", token_id[1], actor="lo-bg")
    assert revoked.exit_code == 0 and f"revoked token {token_id[1]} (integration) of lo-bg" in revoked.output
    refused = await cli("whoami", actor=None, env={"LIAISON_TOKEN": secret})
    assert refused.exit_code == exit_of("not_authenticated") and "the token is revoked" in refused.output


def _next_code(secret: str) -> str:
    """The code of the next time step: the confirming code's own step is used up, and drift allows one."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))


@pytest.fixture(scope="module")
async def enrolled_approver(cli: Cli, cli_system: System) -> str:
    """A BG approver of its own (others' sign-offs must not start asking for codes) with a one-time code."""
    register(cli_system, "ap-bg-otp", Role.APPROVER, "BG")
    cli.tokens["ap-bg-otp"] = await sign_in(cli.server, "ap-bg-otp")
    enrolment = await cli("otp", "enrol", actor="ap-bg-otp", input=f"{PASSWORD}\n")
    assert enrolment.exit_code == 0 and "otpauth://" in enrolment.output, enrolment.output
    secret = re.search(r"secret\s+([A-Z2-7]+)", enrolment.output)
    assert secret is not None
    wrong = await cli("otp", "confirm", "000000", actor="ap-bg-otp")
    assert wrong.exit_code == exit_of("invalid_input"), wrong.output
    confirmed = await cli("otp", "confirm", pyotp.TOTP(secret[1]).now(), actor="ap-bg-otp")
    assert confirmed.exit_code == 0 and "enrolled a one-time code for ap-bg-otp" in confirmed.output
    return secret[1]


async def _arrest_task(cli: Cli, operation_id: str) -> None:
    assert (await cli("operation", "open", str(EXAMPLES / "operation.yaml"), "--id", operation_id)).exit_code == 0
    assert (await cli("operation", "submit", operation_id, str(EXAMPLES / "assessment.yaml"))).exit_code == 0
    assert (await cli("operation", "prioritise", operation_id)).exit_code == 0
    assert (await cli("operation", "plan-task", operation_id, "--state", "BG", "--kind", "arrest", "--description",
                      "arrest at dawn", "--due", "+1d")).exit_code == 0


async def test_a_coercive_sign_off_asks_for_the_one_time_code(cli: Cli, enrolled_approver: str, operation_id: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    await _arrest_task(cli, operation_id)
    without = await cli("task", "approve", operation_id, "TK1", actor="ap-bg-otp")
    assert without.exit_code == exit_of("not_authorised"), without.output
    assert "must confirm with a one-time code: pass --otp CODE" in " ".join(without.output.split())

    monkeypatch.setattr("cli.task.at_a_terminal", lambda: True)  # someone at the keyboard types the code
    asked = await cli("task", "approve", operation_id, "TK1", actor="ap-bg-otp",
                      input=_next_code(enrolled_approver) + "\n")
    assert asked.exit_code == 0, asked.output
    assert "one-time code" in asked.output and "task_approved" in asked.output
    timeline = await cli("operation", "timeline", operation_id)
    assert "(with step-up)" in timeline.output, timeline.output


def _one_time_password(output: str) -> str:
    lines = output.splitlines()
    return lines[next(n for n, line in enumerate(lines) if line.startswith("one-time password")) + 1].strip()


async def test_an_administrator_manages_principals_and_the_auditor_reads_the_security_log(cli: Cli,
                                                                                         tmp_path: Path) -> None:
    added = await cli("principal", "add", "lo-pt", "--role", "liaison_officer", "--state", "PT", "--name",
                      "Liaison officer Portugal", "-j", "PT joins", actor="admin-1")
    assert added.exit_code == 0 and "registered lo-pt (liaison_officer of PT)" in added.output, added.output
    first = _one_time_password(added.output)
    own = _own_config(tmp_path) | {"LIAISON_PASSWORD": first}
    # A one-time password opens nothing but its replacement, which login asks for at once.
    restricted = await cli("login", "--server", cli.server, "--user", "lo-pt", actor=None, env=own,
                           input="\n")
    assert restricted.exit_code != 0 and "one-time password: choose your own" in restricted.output
    assert (await cli("--purpose", "x", "operation", "list", actor=None, env=own)).exit_code == exit_of(
        "not_authorised")
    chosen = own | {"LIAISON_NEW_PASSWORD": "my own passphrase, PT"}
    changed = await cli("login", "--server", cli.server, "--user", "lo-pt", actor=None, env=chosen)
    assert changed.exit_code == 0 and "password changed" in changed.output, changed.output
    own = own | {"LIAISON_PASSWORD": "my own passphrase, PT"}
    assert (await cli("login", "--server", cli.server, "--user", "lo-pt", actor=None, env=own)).exit_code == 0

    reset = await cli("principal", "reset-password", "lo-pt", "-j", "forgotten", actor="admin-1")
    assert reset.exit_code == 0 and "password reset for lo-pt" in reset.output, reset.output
    ended = await cli("whoami", actor=None, env=own)  # a reset ends its tokens
    assert ended.exit_code == exit_of("not_authenticated"), ended.output
    again = own | {"LIAISON_PASSWORD": _one_time_password(reset.output), "LIAISON_NEW_PASSWORD": "another passphrase!"}
    assert (await cli("login", "--server", cli.server, "--user", "lo-pt", actor=None, env=again)).exit_code == 0

    renamed = await cli("principal", "rename", "lo-pt", "PT desk", "-j", "new desk", actor="admin-1")
    assert renamed.exit_code == 0, renamed.output
    shown = await cli("principal", "show", "lo-pt", actor="admin-1")
    assert "PT desk" in shown.output and "active" in shown.output
    disabled = await cli("principal", "disable", "lo-pt", "-j", "left the desk", actor="admin-1")
    assert disabled.exit_code == 0 and "disabled lo-pt" in disabled.output
    refused = await cli("whoami", actor=None, env=again)
    assert refused.exit_code == exit_of("not_authenticated"), refused.output
    assert (await cli("principal", "enable", "lo-pt", "-j", "back", actor="admin-1")).exit_code == 0
    not_admin = await cli("principal", "disable", "lo-bg", "-j", "x", actor="coord-1")
    assert not_admin.exit_code == exit_of("not_authorised"), not_admin.output

    log = await cli("security-log", "--principal", "lo-pt", actor="aud-1")
    assert log.exit_code == 0, log.output
    assert "principal_changed" in log.output and "sign_in" in log.output
    assert (await cli("security-log", actor="lo-bg")).exit_code == exit_of("not_authorised")
