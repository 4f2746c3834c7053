"""The README's walkthrough ("Try it" and its sub-sections), run command by command as written.

The commands come from the README's ```sh blocks, parsed here (never copied), so the README stays true.
They run in order against a real API, worker and Temporal dev server over a store of their own (the
walkthrough starts on a fresh data dir: it bootstraps the first administrator), each `as NAME ...` with
the sign-in kept in NAME's own config dir, as the README's `as` function does. Only what must differ in
a test is substituted: the server's URL and the config dirs (temporary ones), the one-time passwords
typed at `login` (taken from the output of the command that printed them), the README's placeholders
(`<hit ids>`, `<digest>`: taken from the output of the command before), and "again until AD1 is
"running"" (the command is repeated until its output says so, instead of a person looking). Each
command must exit 0, or the code its comment says it exits with ("exits N").
"""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from bootstrap import bootstrap
from cli.main import app
from domain.model import Phase
from gateway.payload_keys import data_converter
from logging_setup import configure_logging
from settings import Settings, get_settings
from store.db import make_engine, upgrade
from tests.cli.conftest import EXAMPLES, serving
from tests.conftest import temporal_binary
from worker import build_worker
from workflows.messages import CODE_NAME, LEAD_STATE, MEMBER_STATES, PARKED, PHASE, PRIORITY

README = EXAMPLES.parent / "README.md"
# The README's helpers, which this test stands in for: if they change, so must the test.
LIAISON = "L=.venv/bin/liaison"
AS = 'as() { who=$1; shift; LIAISON_CONFIG_DIR="$HOME/.config/liaison/as-$who" $L "$@"; }'
# Commands that create something print its id, for the next steps to name (issue 12).
PRINTS_ITS_ID = {
    ("admin", "bootstrap"): r"^bootstrapped the first administrator \S+", ("principal", "add"): r"^registered \S+",
    ("token", "new"): r"^issued token \S+", ("operation", "open"): r"^opened \S+",
    ("operation", "add-target"): r"-> target TG\d+$", ("operation", "add-intel"): r"-> item IN\d+$",
    ("operation", "plan-task"): r"-> task TK\d+$", ("operation", "request-release"): r"-> task TK\d+$",
    ("operation", "schedule"): r"-> action day AD\d+$", ("audit", "export"): r"^manifest sha256 [0-9a-f]{64}"}
WAIT_FOR = 150.0  # seconds an "again until" step may take (the action day starts a minute after scheduling)


@dataclass(frozen=True)
class Line:
    """One command line of the walkthrough: its words (shell-split, the comment left out) and its comment."""

    text: str
    words: list[str]
    comment: str


def _comment_at(line: str) -> int:
    """Where the line's comment starts (a # after a blank, outside quotes), or its length."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return i
    return len(line)


def walkthrough(readme: str) -> list[Line]:
    """The command lines of the ```sh blocks under "## Try it", up to the next section of that level."""
    start = readme.index("\n## Try it\n")
    end = readme.find("\n## ", start + 1)
    section = readme[start:end if end > 0 else None]
    lines: list[Line] = []
    for block in re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M):
        for text in re.sub(r"\\\n\s*", " ", block).splitlines():  # continuation lines joined
            cut = _comment_at(text)
            if text[:cut].strip():  # a placeholder (<hit ids>) is one word, for the test to fill in
                held = re.sub(r"<([^<>]+)>", lambda m: "<" + m.group(1).replace(" ", "\x00") + ">", text[:cut])
                words = [word.replace("\x00", " ") for word in shlex.split(held)]
                lines.append(Line(text.strip(), words, text[cut + 1:].strip()))
    return lines


def hit_ids(output: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"│ (H[0-9A-F]{10}) ", output)))


def _until(comment: str) -> Callable[[str], bool] | None:
    """What "again until ..." in a comment waits for, as a test of the command's output."""
    if day := re.search(r'again until (\S+) is "(\w+)"', comment):
        return lambda output: re.search(rf"│ {day.group(1)} .*│ {day.group(2)}\b", output) is not None
    if hits := re.search(r"again until it lists (\d+) hits", comment):
        return lambda output: len(hit_ids(output)) >= int(hits.group(1))
    assert "again until" not in comment, f"an \"again until\" this test cannot read: {comment}"
    return None


@dataclass
class Walk:
    server: str
    env: dict[str, str | None]
    config: Path
    runner: CliRunner = field(default_factory=CliRunner)
    passwords: dict[str, str] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)

    async def run(self, who: str | None, argv: list[str], input: str | None = None) -> Result:
        """`$L ARGV` (who=None) or `as WHO ARGV`, in a thread: the API and the worker serve on this loop."""
        config = self.config / (f"as-{who}" if who else "default")
        env = self.env | {"LIAISON_CONFIG_DIR": str(config)}

        def invoke() -> Result:
            get_settings.cache_clear()
            return self.runner.invoke(app, argv, env=env, input=input)

        result = await asyncio.to_thread(invoke)
        get_settings.cache_clear()
        return result

    def placeholder(self, name: str) -> list[str]:
        """A README placeholder, from what the commands before printed."""
        latest = self.outputs[-1]
        if name == "hit ids":
            found = hit_ids(latest)
        elif name == "digest":
            found = re.findall(r"manifest sha256 ([0-9a-f]{64})", latest)
        else:
            raise AssertionError(f"the walkthrough has a placeholder <{name}> this test does not know")
        assert found, f"<{name}>: nothing in the output of the command before:\n{latest}"
        return found

    def argv(self, words: list[str]) -> tuple[str | None, list[str]]:
        if words[0] == "$L":
            who, rest = None, words[1:]
        else:
            assert words[0] == "as" and len(words) > 2, f"not a liaison command: {shlex.join(words)}"
            who, rest = words[1], words[2:]
        argv: list[str] = []
        for word in rest:
            named = re.fullmatch(r"<([^>]+)>", word)
            argv += self.placeholder(named.group(1)) if named else [word]
        return who, argv

    async def step(self, words: list[str], comment: str) -> None:
        who, argv = self.argv(words)
        for word in argv:  # every id a command names was printed by a command before it
            if re.fullmatch(r"(TK|AD|IN|TG)\d+", word):
                assert any(re.search(rf"\b{word}\b", out) for out in self.outputs), (
                    f"{shlex.join(words)}: no command before printed the id {word}")
        typed = None
        if argv[:1] == ["login"]:
            user = argv[argv.index("--user") + 1]
            assert user in self.passwords, f"{user}'s one-time password was never printed"
            own = f"{user}'s own passphrase"  # the one-time password is replaced at the first sign-in
            typed = self.passwords[user] + "\n" + own + "\n" + own + "\n"
        expected = int(m.group(1)) if (m := re.search(r"\bexits (\d+)", comment)) else 0
        until = _until(comment)
        deadline = time.monotonic() + WAIT_FOR
        while True:
            result = await self.run(who, argv, typed)
            shown = f"$ {shlex.join(words)}\n{result.output}"
            assert result.exit_code == expected, f"exit {result.exit_code}, not {expected}:\n{shown}"
            if until is None or until(result.output):
                if argv[:1] == ["login"] and "password changed" in result.output:
                    self.passwords[user] = own  # a later sign-in uses the password it chose
                break
            assert time.monotonic() < deadline, f"not yet {comment!r} after {WAIT_FOR} s:\n{shown}"
            await asyncio.sleep(2)
        prints = PRINTS_ITS_ID.get((argv[0], argv[1]) if len(argv) > 1 else ("", ""))
        assert prints is None or re.search(prints, result.output, re.M), f"no id printed:\n{shown}"
        self.outputs.append(result.output)
        self.ran.append(shlex.join((["as", who] if who else ["$L"]) + argv))  # as run, placeholders filled
        self._note_passwords(result.output)

    def _note_passwords(self, output: str) -> None:
        """A one-time password is printed on the line after its announcement, for the principal named."""
        made = re.search(r"^(?:registered|bootstrapped the first administrator) (\S+) \(", output, re.M)
        secret = re.search(r"one-time password.*\n(\S+)\n", output)
        if made and secret:
            self.passwords[made.group(1)] = secret.group(1)


def expand(line: Line) -> list[list[str]]:
    """The commands of one line: a `for NAME in ...; do ...; done` loop unrolled, `A && B` split."""
    words = line.words
    if words[0] == "for":
        loop = re.fullmatch(r"for (\w+) in ([^;]+); do (.+); done", " ".join(words))
        assert loop, f"a loop this test cannot read: {line.text}"
        name, values, body = loop.groups()
        return [[w.replace(f"${name}", value) for w in shlex.split(body)] for value in values.split()]
    commands: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    return commands


@dataclass
class Fresh:
    server: str
    env: dict[str, str | None]


@pytest.fixture
async def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Fresh]:
    """`make run` on a fresh data dir: its own Temporal dev server (`audit verify --all` checks every
    operation workflow Temporal holds, and the session's server holds other tests' without their log), its
    own store, a worker and the API over them; the working directory a checkout's (examples/ in it), where
    `audit export` writes its file."""
    configure_logging("console", "WARNING")
    temporal_env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=data_converter(Settings()),
        search_attributes=[PHASE, CODE_NAME, LEAD_STATE, MEMBER_STATES, PRIORITY, PARKED],
        dev_server_log_level="error")
    try:
        url = f"sqlite:///{tmp_path / 'liaison.db'}"
        upgrade(url)
        engine = make_engine(url)
        settings = Settings(data_dir=tmp_path / "data", database_url=url, sign_in_failure_delay=timedelta(0))
        (tmp_path / "data").mkdir()
        (tmp_path / "checkout").mkdir()
        (tmp_path / "checkout" / "examples").symlink_to(EXAMPLES)
        monkeypatch.chdir(tmp_path / "checkout")
        client, queue = temporal_env.client, settings.task_queue
        system = bootstrap(settings, engine=engine, client=client, task_queue=queue)
        async with build_worker(client, engine, queue, strict_sandbox=True, settings=settings), \
                serving(system) as server:
            env: dict[str, str | None] = {
                "LIAISON_SERVER_URL": server, "LIAISON_DATABASE_URL": url, "LIAISON_TASK_QUEUE": queue,
                "LIAISON_TEMPORAL_ADDRESS": client.service_client.config.target_host,
                "LIAISON_DATA_DIR": str(settings.data_dir), "LIAISON_SIGN_IN_FAILURE_DELAY": "PT0S",
                "LIAISON_TOKEN": None, "LIAISON_PASSWORD": None, "LIAISON_PURPOSE": None, "COLUMNS": "200"}
            yield Fresh(server, env)
        system.close()
        engine.dispose()
    finally:
        await temporal_env.shutdown()


def test_the_walkthrough_is_read_as_the_readme_writes_it() -> None:
    lines = walkthrough(README.read_text(encoding="utf-8"))
    texts = [line.text for line in lines]
    assert LIAISON in texts and AS in texts, "the README's L= or as() helper changed: update this test"
    assert any(line.words[:2] == ["as", "lo-bg"] and "results" in line.words for line in lines)
    assert any("<hit ids>" in line.words for line in lines) and any("<digest>" in line.words for line in lines)


async def test_the_readme_walkthrough_works_as_written(fresh: Fresh, tmp_path: Path) -> None:
    walk = Walk(fresh.server, fresh.env, tmp_path / "config")
    for line in walkthrough(README.read_text(encoding="utf-8")):
        if line.text in (LIAISON, AS):
            continue
        if line.words[0] == "make":
            assert line.words == ["make", "demo"], line.text  # the alternative to the walk; test_cli runs the demo
            continue
        if line.words[0] == "curl":  # an HTTP call, with a token of "Signing in and the HTTP API": tests/api's
            continue
        if line.words[0] == "export":
            name, _, value = line.words[1].partition("=")
            walk.env[name] = value
            continue
        for command in expand(line):
            await walk.step(command, line.comment)

    assert "as lo-bg results report op-korab --arrests 4 --searches 3" in walk.ran
    assert any(ran.startswith("as lo-bg deconfliction resolve op-korab H") for ran in walk.ran)
    closed = await walk.run("aud-1", ["operation", "show", "op-korab"])
    assert f"phase {Phase.CLOSED.value.upper()}" in closed.output and "TOTAL │       4 │        3" in closed.output
