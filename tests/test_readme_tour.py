"""The README's tour ("Try it"), run as written against a started sandbox, at the worst time for it.

The tour is the first thing a user copies, so it must work whenever it is run. Every fenced block
after a ``<!-- tour -->`` marker is executed in order: ``curl`` lines as HTTP requests (parsed like a
shell would, sent with httpx: no curl or bash needed), ``sleep N`` as ``POST /_sandbox/clock/advance
{"seconds": N}`` on a manual clock — what the README tells a manual-clock user to do, and what ``N``
seconds of a real-time clock at ``--speed 1`` amount to. Each ``curl`` must be followed by its answer
(``# → …``, continued on ``#   `` lines), and the sandbox's answer must match it:

* ``…`` stands for anything left out; the parts between are found in the answer in that order, and
  without a leading (trailing) ``…`` the answer must start (end) exactly there;
* ``<name>`` matches a value the first time and must equal it afterwards; the same ``<name>`` in a
  later command is replaced by it (the user copies the id by hand).

The sandbox is a real process (``python -m sandbox``) on a free port. The worst case is a Sunday night
in every US zone (Sunday 23:00 in New York, 18:00 in Honolulu): outside the default calling hours
everywhere, with a freshly delivered lead. The tour also runs on a weekday morning, so neither time
can pass by accident.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

SUNDAY_NIGHT = "2026-01-19T04:00:00Z"   # Sun 23:00 New York, 20:00 Los Angeles, 18:00 Honolulu
WEEKDAY_MORNING = "2026-01-15T15:00:00Z"  # Thu 10:00 New York (the manual clock's default start)

BLOCK = re.compile(r"<!-- tour -->\s*\n```bash\n(.*?)\n```", re.S)
PLACEHOLDER = re.compile(r"<([A-Za-z][A-Za-z0-9]*)>")
ELLIPSIS = "…"


@dataclass
class Step:
    command: str
    expected: str | None = None
    line: int = 0


@dataclass
class Tour:
    base: str
    variables: dict[str, str] = field(default_factory=dict)
    bound: dict[str, str] = field(default_factory=dict)
    answers: list[tuple[str, str]] = field(default_factory=list)


def tour_steps(text: str) -> list[Step]:
    """The commands of the tour blocks, each with the answer the README states for it."""
    steps: list[Step] = []
    blocks = list(BLOCK.finditer(text))
    for block in blocks:
        first_line = text[:block.start(1)].count("\n") + 1
        pending = ""
        expecting = False
        for offset, line in enumerate(block.group(1).split("\n")):
            stripped = line.strip()
            if pending:
                pending += "\n" + line
            elif stripped.startswith("# →"):
                steps[-1].expected = stripped.removeprefix("# →").strip()
                expecting = True
                continue
            elif expecting and line.startswith("#   "):
                steps[-1].expected += line[1:].strip()
                continue
            elif not stripped or stripped.startswith("#"):
                expecting = False
                continue
            else:
                pending = line
            expecting = False
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            try:
                shlex.split(pending)
            except ValueError:  # an open quote: the command goes on on the next line
                continue
            steps.append(Step(pending, line=first_line + offset))
            pending = ""
        assert not pending, f"README line {first_line}: unfinished command {pending!r}"
    return steps


def fragment_pattern(fragment: str, bound: dict[str, str], fresh: set[str]) -> str:
    parts = []
    for index, piece in enumerate(PLACEHOLDER.split(fragment)):
        if index % 2 == 0:
            parts.append(re.escape(piece))
        elif piece in bound:
            parts.append(re.escape(bound[piece]))
        elif piece in fresh:
            parts.append(f"(?P={piece})")
        else:
            fresh.add(piece)
            parts.append(f'(?P<{piece}>[^"]*)')
    return "".join(parts)


def matches(expected: str, answer: str, bound: dict[str, str]) -> str | None:
    """None when ``answer`` is what ``expected`` says (binding new ``<name>``s), else why not."""
    fragments = expected.split(ELLIPSIS)
    position = 0
    for index, fragment in enumerate(fragments):
        if not fragment:
            continue
        pattern = fragment_pattern(fragment, bound, set())
        if index == len(fragments) - 1:
            pattern += r"\Z"
        regex = re.compile(pattern, re.S)
        found = regex.match(answer, position) if index == 0 else regex.search(answer, position)
        if found is None:
            where = "at the start" if index == 0 else "at the end" if index == len(fragments) - 1 else "after that"
            return f"{fragment!r} not found {where} (from character {position})"
        bound.update(found.groupdict())
        position = found.end()
    return None


def substitute(command: str, tour: Tour) -> str:
    def value(match):
        name = match.group(1)
        assert name in tour.bound, f"<{name}> is used before an answer showed it"
        return tour.bound[name]
    return PLACEHOLDER.sub(value, command)


def run_curl(tokens: list[str], tour: Tour) -> str:
    method, headers, body, url = None, {}, None, None
    args = iter(tokens[1:])
    for token in args:
        if token == "-s":
            continue
        if token == "-X":
            method = next(args)
        elif token == "-H":
            name, _, header_value = next(args).partition(":")
            headers[name.strip()] = header_value.strip()
        elif token == "-d":
            body = next(args)
        elif not token.startswith("-") and url is None:
            url = token
        else:
            raise AssertionError(f"the tour uses a curl option this test does not know: {token}")
    assert url is not None, f"no URL in {tokens}"
    response = httpx.request(method or ("POST" if body is not None else "GET"), url, headers=headers,
                             content=body.encode() if body is not None else None, timeout=30)
    return response.text


def expand(token: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: variables[m.group(1)], token)


def advance(tour: Tour, seconds: float) -> None:
    answer = httpx.post(f"{tour.base}/_sandbox/clock/advance", headers={"X-API-Key": tour.variables["K"].split(": ", 1)[1]},
                        json={"seconds": seconds, "summary": True}, timeout=60)
    assert answer.status_code == 200, answer.text


def run_step(step: Step, tour: Tour) -> None:
    command = substitute(step.command, tour)
    for statement in command.split(";") if re.match(r"^\s*[A-Z]+=", command) else [command]:
        tokens = shlex.split(statement)
        if not tokens:
            continue
        if re.fullmatch(r"[A-Za-z_]+=.*", tokens[0], re.S):
            name, _, assigned = tokens[0].partition("=")
            tour.variables[name] = tour.base if name == "B" else expand(assigned, tour.variables)
            continue
        tokens = [expand(token, tour.variables) for token in tokens]
        if tokens[0] == "sleep":
            advance(tour, float(tokens[1]))
            continue
        assert tokens[0] == "curl", f"README line {step.line}: the tour runs only curl, sleep and variables"
        assert step.expected, f"README line {step.line}: every curl of the tour shows its answer (# → …)"
        answer = run_curl(tokens, tour)
        tour.answers.append((statement, answer))
        problem = matches(step.expected, answer, tour.bound)
        assert problem is None, (f"README line {step.line}: {statement}\n  the README says: {step.expected}\n"
                                 f"  the sandbox said: {answer}\n  {problem}")


@pytest.fixture
def sandbox_at(request):
    """Start ``python -m sandbox`` with a manual clock at ``start``; yields (base URL, output so far)."""
    started = []

    def start(start_time: str) -> str:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        server = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), "--clock", "manual",
                                   "--start-time", start_time], cwd=ROOT, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started.append(server)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/_sandbox/info", timeout=2)
                return base
            except httpx.HTTPError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the sandbox did not answer within 30 s"
                time.sleep(0.1)

    yield start
    for server in started:
        server.terminate()
        output = server.communicate(timeout=10)[0]
        # What a user sees first is the banner: no warning printed above it.
        assert "LeadSail Sandbox" in output and "Warning" not in output.split("LeadSail Sandbox", 1)[0], output[:500]


def test_the_tour_has_steps_and_every_curl_shows_its_answer():
    steps = tour_steps(README.read_text())
    curls = [s for s in steps if s.command.lstrip().startswith("curl")]
    assert len(curls) >= 15 and all(s.expected for s in curls), [s.command for s in curls if not s.expected]
    assert steps[0].command.startswith("B="), "the tour starts by naming B (base URL) and K (key header)"


@pytest.mark.parametrize("start", [SUNDAY_NIGHT, WEEKDAY_MORNING], ids=["sunday-night", "weekday-morning"])
def test_the_readme_tour_answers_what_the_readme_says(sandbox_at, start):
    tour = Tour(base=sandbox_at(start))
    for step in tour_steps(README.read_text()):
        run_step(step, tour)
    checks = [json.loads(answer) for command, answer in tour.answers if "/_sandbox/dialer/check/" in command]
    hours = next(v for v in checks[0]["data"]["verdicts"] if v["rule"] == "operatingHours")
    # The first dry run ran before the tour opened HXZ's dialer: at the worst case its hours refused.
    assert hours["allowed"] is (start != SUNDAY_NIGHT), hours


def test_the_readme_and_docs_link_only_to_files_of_the_repository():
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) > 5
    for page in pages:
        text = page.read_text()
        assert "../shared" not in text, f"{page.name} points outside the repository"
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "#")):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            assert path.is_relative_to(ROOT) and path.exists(), f"{page.name} links to {target}, which is not here"
