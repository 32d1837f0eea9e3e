"""What every section of a policy file shares: problems, key and type checks, references.

A check never stops at the first problem: each one is added to the `Checker`, and
`policy_parse` refuses the file when there is any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from accounts.models import Role
from core.secrets import env_name_problem

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Problem:
    key: str
    reason: str
    line: int | None = None


class PolicyError(Exception):
    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = []
        for p in self.problems:
            where = f"{self.path}:{p.line}" if p.line else self.path
            lines.append(f"{where}: {p.key}: {p.reason}" if p.key else f"{where}: {p.reason}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Shape:
    """The keys of one `[[section]]` entry: their types, the required ones, and the one
    that names the entry (unique in the file, slug-like)."""

    section: str
    keys: dict[str, Any]
    required: tuple[str, ...]
    ident: str


@dataclass
class Known:
    """What the file may refer to: products and gates stored, or defined in the file."""

    products: set[str] = field(default_factory=set)
    gates: set[str] = field(default_factory=set)


class Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, key: str, reason: str) -> None:
        self.problems.append(Problem(key, reason))

    def table(self, data: Any, spec: dict[str, Any], where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.add(where, "must be a table")
            return {}
        for key, value in data.items():
            if key not in spec:
                self.add(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(spec))})")
                continue
            expected = spec[key]
            # bool is an int in Python; refuse it where a number is meant.
            if isinstance(value, bool) and expected is not bool and bool not in _as_tuple(expected):
                self.add(f"{where}.{key}", f"must be {_type_name(expected)}, not true/false")
            elif not isinstance(value, expected):
                self.add(f"{where}.{key}", f"must be {_type_name(expected)}")
        return data

    def array(self, data: Any, where: str) -> list[Any]:
        if data is None:
            return []
        if not isinstance(data, list):
            self.add(where, "must be an array of tables ([[...]])")
            return []
        return data

    def choice(self, value: Any, choices: list[str], key: str) -> None:
        if value is not None and value not in choices:
            self.add(key, f"“{value}” is not one of: {', '.join(choices)}")

    def secret_env(self, value: Any, key: str) -> None:
        """A variable that holds a secret: GONOGO_…, never one of the server's own."""
        if not isinstance(value, str) or not value:
            return
        if env_name_problem(value):
            self.add(
                key,
                f"“{value[:100]}” must start with GONOGO_ and not be one of the server's own settings "
                "(it names the environment variable that holds the secret, not the secret itself)",
            )

    def role(self, value: Any, key: str) -> None:
        if value is not None and value not in Role.values:
            self.add(key, f"unknown role “{value}” (roles: {', '.join(Role.values)})")

    def products(self, slugs: Any, known: Known, where: str) -> None:
        """An entry's `products = [...]`: each one stored or defined in the file."""
        for j, slug in enumerate(slugs or []):
            if slug not in known.products:
                self.add(f"{where}.products[{j}]", f"unknown product “{slug}”")


def _as_tuple(t: Any) -> tuple[Any, ...]:
    return t if isinstance(t, tuple) else (t,)


def _type_name(t: Any) -> str:
    names = {
        str: "a string",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "an array",
        dict: "a table",
    }
    return " or ".join(dict.fromkeys(names[x] for x in _as_tuple(t)))


def shapes_check(c: Checker, sections: list[tuple[Shape, list[Any]]], known: Known) -> None:
    """The checks every `[[section]]` entry gets, all sections before any section's own:
    known keys of the right type, the required ones, a name used once and slug-like.
    The products and gates the file defines are added to `known`."""
    for shape, entries in sections:
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            where = f"{shape.section}[{i}]"
            c.table(entry, shape.keys, where)
            if not isinstance(entry, dict):
                continue
            for req in shape.required:
                if req not in entry:
                    c.add(f"{where}.{req}", "is required")
            ident = entry.get(shape.ident)
            if isinstance(ident, str):
                if ident in seen:
                    c.add(f"{where}.{shape.ident}", f"“{ident}” appears twice in this file")
                seen.add(ident)
                if shape.section == "products":
                    known.products.add(ident)
                if shape.section == "gates":
                    known.gates.add(ident)

    for shape, entries in sections:
        for i, entry in enumerate(entries):
            value = entry.get(shape.ident) if isinstance(entry, dict) else None
            if isinstance(value, str) and not SLUG_RE.match(value):
                c.add(
                    f"{shape.section}[{i}].{shape.ident}",
                    "use lower-case letters, digits and hyphens only, e.g. “ios-app”",
                )


def secret_envs_check(c: Checker, data: Any, where: str = "") -> None:
    """Every `*_env` key anywhere in the file (secret_env, api_token_env, url_env, a
    product's token_env…) names a variable that holds a secret: GONOGO_…, never one of the
    server's own settings."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and key.endswith("_env"):
                c.secret_env(value, path)
            else:
                secret_envs_check(c, value, path)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            secret_envs_check(c, value, f"{where}[{i}]")


def with_lines(problems: list[Problem], text: str) -> list[Problem]:
    """Best effort: point at the line of the offending key's value in the file."""
    lines = text.splitlines()
    out = []
    for p in problems:
        leaf = p.key.rsplit(".", 1)[-1].split("[", 1)[0].strip('"')
        line = None
        # Find the n-th table of this section, then the leaf key after it.
        head = p.key.split(".", 1)[0]
        section = head.split("[", 1)[0]
        index = int(head.split("[", 1)[1].rstrip("]")) if "[" in head else None
        start = 0
        if index is not None:
            seen = -1
            for n, raw in enumerate(lines):
                if raw.strip() == f"[[{section}]]":
                    seen += 1
                    if seen == index:
                        start = n
                        break
        for n in range(start, len(lines)):
            stripped = lines[n].strip()
            if stripped.startswith((f"{leaf} ", f"{leaf}=", f'"{leaf}"')):
                line = n + 1
                break
            if n > start and stripped == f"[[{section}]]":
                break
        out.append(Problem(p.key, p.reason, line or p.line))
    return out
