"""Reading and validating a policy file (CONTRACT §5, extended in docs/policy.md).

`policy_load` parses TOML and checks every key and reference against the file itself and
the database. Any problem refuses the whole file: `PolicyError` lists each problem with
the file, the key path (and line when TOML itself fails), and the reason.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accounts.models import Role
from checklists.models import ChecklistKind
from gates.models import Evaluation, Gate, Phase
from gonogo.secrets import env_name_problem
from gonogo.validation import is_http_url
from integrations.models import Provider
from notifications.models import ChannelKind
from releases.models import Platform, Product

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


@dataclass
class Policy:
    products: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    integrations: list[dict[str, Any]] = field(default_factory=list)
    checklists: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    sso: dict[str, Any] | None = None  # None: the file has no [sso] section, nothing changes


TOP_KEYS = {"products", "gates", "integrations", "checklists", "channels", "sso"}
PRODUCT_KEYS = {
    "slug": str,
    "name": str,
    "platform": str,
    "rollout": list,
    "rollback_target_minutes": int,
    "signoff_roles": list,
    "health": dict,
    "runbook_url": str,
    "rehearsal_window_days": int,
    "oncall": list,
}
HEALTH_KEYS = {
    "error_rate": (int, float),
    "p95_latency_ms": int,
    "rate_429": (int, float),
    "soak_minutes": int,
}
ONCALL_KEYS = {"role": str, "name": str, "contact": str}
GATE_KEYS = {
    "key": str,
    "name": str,
    "description": str,
    "phase": str,
    "blocking": bool,
    "waivable": bool,
    "owner_role": str,
    "evaluation": str,
    "allow_failure_passes": bool,
    "position": int,
    "products": list,
}
INTEGRATION_KEYS = {
    "slug": str,
    "provider": str,
    "product": str,
    "secret_env": str,
    "api_token_env": str,
    "gates": dict,
    "api_url": str,
    "repository": str,
    "active": bool,
}
CHECKLIST_KEYS = {"key": str, "name": str, "kind": str, "products": list, "sections": list}
SECTION_KEYS = {"title": str, "items": list}
ITEM_KEYS = {"title": str, "instructions": str, "core": bool, "owner_role": str}
CHANNEL_KEYS = {"slug": str, "kind": str, "url_env": str, "email": str, "products": list, "active": bool}

REQUIRED = {
    "products": ("slug", "name", "platform"),
    "gates": ("key", "name", "owner_role"),
    "integrations": ("slug", "provider", "product"),
    "checklists": ("key", "name", "kind"),
    "channels": ("slug", "kind"),
}


class _Checker:
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


def policy_parse(text: str, *, path: str = "<policy>") -> Policy:
    """Parse and validate `text`. Raises PolicyError listing every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(found.group(1)) if found else None
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        if found:
            reason += f" (column {found.group(2)})"
        raise PolicyError(path, [Problem("", f"not valid TOML: {reason}", line)]) from exc

    c = _Checker()
    for key in data:
        if key not in TOP_KEYS:
            c.add(key, f"unknown section (known: {', '.join(sorted(TOP_KEYS))})")
    policy = Policy(
        products=c.array(data.get("products"), "products"),
        gates=c.array(data.get("gates"), "gates"),
        integrations=c.array(data.get("integrations"), "integrations"),
        checklists=c.array(data.get("checklists"), "checklists"),
        channels=c.array(data.get("channels"), "channels"),
    )

    product_slugs = set(Product.objects.values_list("slug", flat=True))
    gate_keys = set(Gate.objects.values_list("key", flat=True))
    specs: dict[str, dict[str, Any]] = {
        "products": PRODUCT_KEYS,
        "gates": GATE_KEYS,
        "integrations": INTEGRATION_KEYS,
        "checklists": CHECKLIST_KEYS,
        "channels": CHANNEL_KEYS,
    }
    id_field = {
        "products": "slug",
        "gates": "key",
        "integrations": "slug",
        "checklists": "key",
        "channels": "slug",
    }
    for section, spec in specs.items():
        seen: set[str] = set()
        for i, entry in enumerate(getattr(policy, section)):
            where = f"{section}[{i}]"
            c.table(entry, spec, where)
            if not isinstance(entry, dict):
                continue
            for req in REQUIRED[section]:
                if req not in entry:
                    c.add(f"{where}.{req}", "is required")
            ident = entry.get(id_field[section])
            if isinstance(ident, str):
                if ident in seen:
                    c.add(f"{where}.{id_field[section]}", f"“{ident}” appears twice in this file")
                seen.add(ident)
                if section == "products":
                    product_slugs.add(ident)
                if section == "gates":
                    gate_keys.add(ident)

    for section, key in id_field.items():
        for i, entry in enumerate(getattr(policy, section)):
            value = entry.get(key) if isinstance(entry, dict) else None
            if isinstance(value, str) and not SLUG_RE.match(value):
                c.add(
                    f"{section}[{i}].{key}", "use lower-case letters, digits and hyphens only, e.g. “ios-app”"
                )

    for i, p in enumerate(policy.products):
        if not isinstance(p, dict):
            continue
        where = f"products[{i}]"
        for key, minimum in (("rollback_target_minutes", 0), ("rehearsal_window_days", 1)):
            value = p.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value < minimum:
                c.add(f"{where}.{key}", f"must be {minimum} or more")
        if isinstance(p.get("runbook_url"), str) and p["runbook_url"] and not is_http_url(p["runbook_url"]):
            c.add(f"{where}.runbook_url", "must be an http or https link")
        c.choice(p.get("platform"), Platform.values, f"{where}.platform")
        for j, role in enumerate(p.get("signoff_roles") or []):
            c.role(role, f"{where}.signoff_roles[{j}]")
        rollout = p.get("rollout")
        if isinstance(rollout, list):
            if not rollout or not all(
                isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 100 for x in rollout
            ):
                c.add(
                    f"{where}.rollout",
                    "must be whole percentages between 0 and 100, for example [1, 5, 20, 100]",
                )
            elif list(rollout) != sorted(set(rollout)) or rollout[-1] != 100:
                c.add(f"{where}.rollout", "must rise strictly and end at 100")
        health = p.get("health")
        if isinstance(health, dict):
            c.table(health, HEALTH_KEYS, f"{where}.health")
            for rate in ("error_rate", "rate_429"):
                value = health.get(rate)
                if isinstance(value, int | float) and not 0 <= value <= 1:
                    c.add(f"{where}.health.{rate}", "is a fraction between 0 and 1 (0.01 means 1%)")
            for key in ("p95_latency_ms", "soak_minutes"):
                value = health.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                    c.add(f"{where}.health.{key}", "must be 0 or more")
        oncall_roles: set[str] = set()
        for j, oc in enumerate(c.array(p.get("oncall"), f"{where}.oncall")):
            c.table(oc, ONCALL_KEYS, f"{where}.oncall[{j}]")
            if isinstance(oc, dict):
                c.role(oc.get("role"), f"{where}.oncall[{j}].role")
                if oc.get("role") in oncall_roles:
                    c.add(
                        f"{where}.oncall[{j}].role", f"“{oc.get('role')}” has two on-call contacts; keep one"
                    )
                oncall_roles.add(oc.get("role", ""))
                for req in ONCALL_KEYS:
                    if req not in oc:
                        c.add(f"{where}.oncall[{j}].{req}", "is required")

    for i, g in enumerate(policy.gates):
        if not isinstance(g, dict):
            continue
        where = f"gates[{i}]"
        if isinstance(g.get("position"), int) and g["position"] < 0:
            c.add(f"{where}.position", "must be 0 or more")
        c.choice(g.get("phase"), Phase.values, f"{where}.phase")
        c.choice(g.get("evaluation"), Evaluation.values, f"{where}.evaluation")
        c.role(g.get("owner_role"), f"{where}.owner_role")
        if g.get("key") == "critical-bugs" and g.get("waivable"):
            c.add(f"{where}.waivable", "critical-bugs can never be waived")
        for j, slug in enumerate(g.get("products") or []):
            if slug not in product_slugs:
                c.add(f"{where}.products[{j}]", f"unknown product “{slug}”")

    for i, integ in enumerate(policy.integrations):
        if not isinstance(integ, dict):
            continue
        where = f"integrations[{i}]"
        c.choice(integ.get("provider"), Provider.values, f"{where}.provider")
        if integ.get("product") is not None and integ.get("product") not in product_slugs:
            c.add(f"{where}.product", f"unknown product “{integ.get('product')}”")
        if isinstance(integ.get("api_url"), str) and integ["api_url"] and not is_http_url(integ["api_url"]):
            c.add(f"{where}.api_url", "must be an http or https link")
        mapping = integ.get("gates")
        if isinstance(mapping, dict):
            for pattern, key in mapping.items():
                if key not in gate_keys:
                    c.add(f'{where}.gates."{pattern}"', f"unknown gate “{key}”")

    for i, cl in enumerate(policy.checklists):
        if not isinstance(cl, dict):
            continue
        where = f"checklists[{i}]"
        c.choice(cl.get("kind"), ChecklistKind.values, f"{where}.kind")
        for j, slug in enumerate(cl.get("products") or []):
            if slug not in product_slugs:
                c.add(f"{where}.products[{j}]", f"unknown product “{slug}”")
        section_titles: set[str] = set()
        for j, section in enumerate(c.array(cl.get("sections"), f"{where}.sections")):
            swhere = f"{where}.sections[{j}]"
            c.table(section, SECTION_KEYS, swhere)
            if not isinstance(section, dict):
                continue
            if "title" not in section:
                c.add(f"{swhere}.title", "is required")
            elif section["title"] in section_titles:
                c.add(f"{swhere}.title", f"“{section['title']}” appears twice in this checklist")
            section_titles.add(section.get("title", ""))
            titles: set[str] = set()
            for k, item in enumerate(c.array(section.get("items"), f"{swhere}.items")):
                iwhere = f"{swhere}.items[{k}]"
                c.table(item, ITEM_KEYS, iwhere)
                if isinstance(item, dict):
                    if "title" not in item:
                        c.add(f"{iwhere}.title", "is required")
                    elif item["title"] in titles:
                        c.add(f"{iwhere}.title", f"“{item['title']}” appears twice in this section")
                    titles.add(item.get("title", ""))
                    c.role(item.get("owner_role"), f"{iwhere}.owner_role")

    for i, ch in enumerate(policy.channels):
        if not isinstance(ch, dict):
            continue
        where = f"channels[{i}]"
        c.choice(ch.get("kind"), ChannelKind.values, f"{where}.kind")
        if ch.get("kind") == "email" and not ch.get("email"):
            c.add(f"{where}.email", "is required for an e-mail channel")
        if ch.get("kind") in ("slack", "webhook") and not ch.get("url_env"):
            c.add(f"{where}.url_env", "is required: the environment variable that holds the webhook URL")
        for j, slug in enumerate(ch.get("products") or []):
            if slug not in product_slugs:
                c.add(f"{where}.products[{j}]", f"unknown product “{slug}”")

    policy.sso = _sso_check(c, data.get("sso"), product_slugs)
    _check_secret_envs(c, data, "")

    if c.problems:
        raise PolicyError(path, _with_lines(c.problems, text))
    return policy


def _check_secret_envs(c: _Checker, data: Any, where: str) -> None:
    """Every `*_env` key anywhere in the file (secret_env, api_token_env, url_env, a
    product's token_env…) names a variable that holds a secret: GONOGO_…, never one of the
    server's own settings."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and key.endswith("_env"):
                c.secret_env(value, path)
            else:
                _check_secret_envs(c, value, path)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_secret_envs(c, value, f"{where}[{i}]")


SSO_KEYS = {"groups_claim": str, "roles": list}
SSO_ROLE_KEYS = {"group": str, "role": str, "product": str}


def _sso_check(c: _Checker, sso: Any, product_slugs: set[str]) -> dict[str, Any] | None:
    """[sso]: the groups claim and the group → role rules of single sign-on."""
    if sso is None:
        return None
    c.table(sso, SSO_KEYS, "sso")
    if not isinstance(sso, dict):
        return None
    claim = sso.get("groups_claim")
    if isinstance(claim, str) and not claim.strip():
        c.add("sso.groups_claim", "must not be empty (leave it out for the default)")
    seen: set[tuple[Any, ...]] = set()
    for i, rule in enumerate(c.array(sso.get("roles"), "sso.roles")):
        where = f"sso.roles[{i}]"
        c.table(rule, SSO_ROLE_KEYS, where)
        if not isinstance(rule, dict):
            continue
        for req in ("group", "role"):
            if req not in rule:
                c.add(f"{where}.{req}", "is required")
        c.role(rule.get("role"), f"{where}.role")
        if rule.get("product") is not None and rule.get("product") not in product_slugs:
            c.add(f"{where}.product", f"unknown product “{rule.get('product')}”")
        ident = (rule.get("group"), rule.get("role"), rule.get("product"))
        if ident in seen:
            c.add(f"{where}", "the same group, role and product appear twice in [sso]")
        seen.add(ident)
    return sso


def _with_lines(problems: list[Problem], text: str) -> list[Problem]:
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


def policy_load(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), [Problem("", f"cannot read the file: {exc.strerror}")]) from exc
    return policy_parse(text, path=str(path))
