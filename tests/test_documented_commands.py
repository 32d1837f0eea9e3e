"""Every command README.md and docs/*.md give — starting with `python manage.py`, `make` or
`gonogo`, in a shell code block or in inline code — runs as written, on a copy of the project
after `make run`'s setup (issue 15 item 5).

The copy is a fresh clone in all but `.venv` (linked): SQLite, the filesystem broker, no
`.env`, nothing of this shell's DATABASE_URL, SECRET_KEY or DEBUG. `make run`'s setup is its
own two steps, migrate and seed_demo, through `scripts/manage.sh` (the same environment).
Then each command, once however often the docs give it:

- `make manage ARGS="…"` and `make cli`: for real, as `make run`'s user would type them;
- `python manage.py …`: for real, as on a server (SECRET_KEY set, DEBUG off, the project's
  Python first on PATH), against the copy's database; a command that names a placeholder
  (`NAME`, `…`, `[--create]`) or only a command's name is run with `--help`, and every option
  the docs give must be in that help;
- `gonogo …`: with `--help`, every option the docs give must exist (the command itself
  needs a server and a token: tests/test_cli.py drives it against one);
- any other `make` target (run, test, bench: long-running): `make -n`, which fails on a
  target that does not exist.

A failure names the command, where the docs give it, and its output.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PREFIX = re.compile(r"^(python manage\.py|make|gonogo)(\s|$)")
SHELL_FENCES = {"", "sh", "bash", "shell", "console"}
# Targets run for real; every other one is checked with `make -n`.
REAL_MAKE_TARGETS = {"manage", "cli", "help"}
# A placeholder the reader fills in: NAME, FILE.xml, …, [--create], <product>.
PLACEHOLDER = re.compile(r"…|\.\.\.|\[|<\w[^>]*>|(?<![\w=.-])[A-Z][A-Z0-9_]*(?:\.\w+)?(?![\w=-])")
OPTION = re.compile(r"(?<![\w-])--[a-z][\w-]*")
TIMEOUT = 60


@dataclass
class Documented:
    command: str
    where: list[str] = field(default_factory=list)


def _strip_comment(line: str) -> str:
    """The command without a trailing `# comment` (a # outside quotes, after a space)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def documented_commands() -> list[Documented]:
    found: dict[str, Documented] = {}

    def add(command: str, where: str) -> None:
        command = " ".join(command.split())
        if PREFIX.match(command):
            found.setdefault(command, Documented(command)).where.append(where)

    for path in DOCS:
        name = path.relative_to(ROOT).as_posix()
        prose: list[str] = []
        fence: str | None = None
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("```"):
                fence = stripped[3:].strip() if fence is None else None
                prose.append("")
                continue
            if fence is not None:
                if fence in SHELL_FENCES:
                    add(_strip_comment(stripped), f"{name}:{number}")
                prose.append("")
            else:
                prose.append(line)
        # Inline code may run over a line break: read the prose as one text.
        text = "\n".join(prose)
        for match in re.finditer(r"`([^`]+)`", text):
            add(match.group(1), f"{name}:{text.count(chr(10), 0, match.start()) + 1}")
    return sorted(found.values(), key=lambda d: d.command)


COMMANDS = documented_commands()


@dataclass(frozen=True)
class Plan:
    run: str  # what is run, in bash, from the copy's folder
    env: str  # "local" (make run's user) or "server" (python manage.py on a server)
    options: tuple[str, ...] = ()  # options the docs name, which the help must list


def _placeholder(text: str) -> bool:
    return bool(PLACEHOLDER.search(text))


def plan(command: str) -> Plan:
    words = shlex.split(command)
    if words[0] == "make":
        assignments = [w for w in words[1:] if "=" in w]
        targets = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
        target = targets[0] if targets else "help"
        if _placeholder(target):  # `make …`: a mention of make itself
            return Plan("make help", "local")
        if target != "manage" or not _placeholder(command):
            return Plan(command if target in REAL_MAKE_TARGETS else f"make -n {command[5:]}", "local")
        args = next((a.split("=", 1)[1] for a in assignments if a.startswith("ARGS=")), "")
        named = shlex.split(args)[:1] if args and not _placeholder(shlex.split(args)[0]) else []
        return Plan(
            f"make manage ARGS={shlex.quote(' '.join([*named, '--help']) if named else 'help')}",
            "local",
            tuple(OPTION.findall(args)),
        )
    if words[0] == "python":  # python manage.py …
        rest = words[2:]
        if not rest or _placeholder(rest[0]):  # `python manage.py …`: any command
            return Plan("python manage.py help", "server")
        if len(rest) == 1 or _placeholder(command):
            return Plan(
                f"python manage.py {shlex.quote(rest[0])} --help", "server", tuple(OPTION.findall(command))
            )
        return Plan(command, "server")
    sub = words[1:2] if len(words) > 1 and not words[1].startswith("-") and not _placeholder(words[1]) else []
    return Plan(" ".join(["gonogo", *sub, "--help"]), "server", tuple(OPTION.findall(command)))


def _copy_ignore(folder: str, names: list[str]) -> set[str]:
    """What a fresh clone does not have (.gitignore), and .venv, linked instead."""
    skip = {
        ".git",
        ".venv",
        ".tools",
        "var",
        ".env",
        ".hypothesis",
        "node_modules",
        "__pycache__",
        "test-results",
    }
    return {
        n
        for n in names
        if n in skip
        or n.startswith("db.sqlite3")
        or n.endswith((".pyc", ".egg-info"))
        or (n.startswith(".") and n.endswith("_cache"))
        or (n == "results" and folder.endswith("bench"))
    }


def _environment(kind: str, project: Path) -> dict[str, str]:
    """A new shell's environment: nothing of this test run's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GONOGO_", "DJANGO_", "PYTEST_", "MAKE", "DB_POOL"))
        and k
        not in {
            "DATABASE_URL",
            "MIGRATE_DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "DEBUG",
            "VIRTUAL_ENV",
            "MFLAGS",
            "ARGS",
            "PYTHONPATH",
        }
    }
    env["HOME"] = str(project / "home")
    if kind == "server":
        # On a server: the app's variables set, the project's Python first on PATH.
        env["SECRET_KEY"] = secrets.token_urlsafe(50)
        env["PATH"] = f"{project / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(command: str, kind: str, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=project,
        env=_environment(kind, project),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project after `make run`'s setup, with the reader's policy.toml."""
    if not (ROOT / ".venv" / "bin" / "python").exists():
        # The commands are documented as run from the project's environment: without it
        # this test proves nothing, and `make test` always has it (make install).
        pytest.fail("needs the project's .venv: run the tests with `make test` (it runs make install)")
    copy = tmp_path_factory.mktemp("clone") / "gonogo"
    shutil.copytree(ROOT, copy, ignore=_copy_ignore, symlinks=True)
    for linked in (".venv", ".tools"):
        if (ROOT / linked).exists():
            (copy / linked).symlink_to(ROOT / linked)
    (copy / "home").mkdir()
    shutil.copy(ROOT / "policy" / "defaults.toml", copy / "policy.toml")  # "a complete example"
    for step in ("scripts/manage.sh migrate --no-input -v 0", "scripts/manage.sh seed_demo"):
        done = run(step, "local", copy)
        assert done.returncode == 0, f"make run's setup failed: {step}\n{done.stdout}\n{done.stderr}"
    return copy


def test_the_docs_give_the_commands_this_test_is_for() -> None:
    """The extraction itself: it finds code blocks, inline code, and each kind."""
    commands = {c.command for c in COMMANDS}
    assert (
        'python manage.py issue_token "github-actions ios" --product ios-app --scope results,verdict'
        in commands
    )
    assert (
        "make manage ARGS='issue_token \"github-actions ios\" --product ios-app --scope results,verdict'"
        in commands
    )
    assert "make run" in commands and 'make pytest PYTEST_ARGS="tests/gates -x"' in commands
    assert any(c.startswith("gonogo verdict --product P") for c in commands)
    assert "python manage.py db_grant --role gonogo_app [--create]" in commands  # inline, in a sentence
    assert not any("#" in c for c in commands if c.startswith("make run"))  # comments are not commands
    assert len(commands) > 25


def test_plans() -> None:
    assert plan("make run") == Plan("make -n run", "local")
    assert plan("make -n") == Plan("make -n", "local")  # a mention of `make -n`: the default goal, dry
    assert plan('make manage ARGS="demo_spike 1.12.0 on"').run == 'make manage ARGS="demo_spike 1.12.0 on"'
    assert plan('make manage ARGS="…"').run == "make manage ARGS=help"
    assert plan("python manage.py changepassword NAME") == Plan(
        "python manage.py changepassword --help", "server"
    )
    assert plan("python manage.py db_grant --role gonogo_app [--create]").options == ("--role", "--create")
    assert plan("python manage.py apply_policy policy.toml --check").run.endswith("--check")
    assert plan("gonogo report --junit FILE.xml --product P").run == "gonogo report --help"
    assert plan("gonogo").run == "gonogo --help"
    assert plan("gonogo …").run == "gonogo --help" and plan("make …").run == "make help"
    assert plan("python manage.py …").run == "python manage.py help"


@pytest.mark.parametrize("documented", COMMANDS, ids=[c.command[:80] for c in COMMANDS])
def test_documented_command_runs_as_written(documented: Documented, project: Path) -> None:
    step = plan(documented.command)
    done = run(step.run, step.env, project)
    said = f"{done.stdout}\n{done.stderr}"
    where = ", ".join(documented.where)
    assert done.returncode == 0, (
        f"`{documented.command}` ({where}) does not work: `{step.run}` exited {done.returncode}\n{said}"
    )
    assert "Traceback" not in said, f"`{documented.command}` ({where}): `{step.run}`\n{said}"
    missing = [o for o in step.options if o not in said]
    assert not missing, (
        f"`{documented.command}` ({where}) names {missing}, which `{step.run}` does not know\n{said}"
    )


def test_manage_py_on_a_server_without_secret_key_refuses_in_one_line(project: Path) -> None:
    """Production keeps refusing to start without SECRET_KEY when DEBUG is off: no
    development key, no traceback, and the way to run it locally."""
    env = _environment("server", project)
    del env["SECRET_KEY"]
    done = subprocess.run(
        ["bash", "-c", "python manage.py check"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr and 'make manage ARGS="…"' in done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_make_manage_uses_make_runs_environment_and_keeps_an_explicit_debug_off(project: Path) -> None:
    shown = run("make manage ARGS='diffsettings --all'", "local", project)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^DEBUG = True", shown.stdout, re.M), shown.stdout[:500]
    assert "db.sqlite3" in shown.stdout and str(project) in shown.stdout  # the copy's own database
    refused = run("DEBUG=0 make manage ARGS=check", "local", project)
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr
