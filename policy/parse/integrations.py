"""`[[integrations]]`: provider, product, polling URL, CI name pattern → gate key."""

from __future__ import annotations

from typing import Any

from core.validation import is_http_url
from integrations.models import Provider

from ..specs import IntegrationSpec
from .checker import Checker, Known, Shape

SHAPE = Shape(
    section="integrations",
    keys={
        "slug": str,
        "provider": str,
        "product": str,
        "secret_env": str,
        "api_token_env": str,
        "gates": dict,
        "api_url": str,
        "repository": str,
        "active": bool,
        "deploy_environments": list,  # the GitHub App: environments gated by the Go
    },
    required=("slug", "provider", "product"),
    ident="slug",
)


def integrations_parse(c: Checker, entries: list[Any], known: Known) -> tuple[IntegrationSpec, ...]:
    """Check each integration's own values (its keys and types are checked by
    `shapes_check`; its `*_env` names by `secret_envs_check`). Returns the specs, or
    nothing once the file has a problem (it is refused whole)."""
    for i, integ in enumerate(entries):
        if not isinstance(integ, dict):
            continue
        where = f"integrations[{i}]"
        c.choice(integ.get("provider"), Provider.values, f"{where}.provider")
        if integ.get("product") is not None and integ.get("product") not in known.products:
            c.add(f"{where}.product", f"unknown product “{integ.get('product')}”")
        if isinstance(integ.get("api_url"), str) and integ["api_url"] and not is_http_url(integ["api_url"]):
            c.add(f"{where}.api_url", "must be an http or https link")
        mapping = integ.get("gates")
        if isinstance(mapping, dict):
            for pattern, key in mapping.items():
                if key not in known.gates:
                    c.add(f'{where}.gates."{pattern}"', f"unknown gate “{key}”")
        _deploy_environments_check(c, integ.get("deploy_environments"), where)
    if c.problems:
        return ()
    return tuple(_integration(integ) for integ in entries)


def _deploy_environments_check(c: Checker, value: Any, where: str) -> None:
    """The GitHub App (docs/github-app.md): a list of environment names."""
    if isinstance(value, list) and not all(isinstance(e, str) and e.strip() for e in value):
        c.add(f"{where}.deploy_environments", "must be a list of GitHub environment names")


def _integration(integ: dict[str, Any]) -> IntegrationSpec:
    # The file's keys are the spec's fields; a key left out keeps the spec's default.
    return IntegrationSpec(
        **{
            **integ,
            "gates": tuple(integ.get("gates", {}).items()),
            "deploy_environments": tuple(integ.get("deploy_environments", ())),
        }
    )
