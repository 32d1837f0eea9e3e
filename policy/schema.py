"""Reading and validating a policy file (CONTRACT §5, extended in docs/policy.md).

`policy_load` parses TOML and checks every key and reference against the file itself and
the database. Any problem refuses the whole file: `PolicyError` lists each problem with
the file, the key path (and line when TOML itself fails), and the reason. A valid file
becomes a `Policy` of typed specs (policy/specs.py); each section is checked by its own
module in policy/parse/.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from gates.models import Gate
from releases.models import Product

from .parse.channels import SHAPE as CHANNELS
from .parse.channels import channels_parse
from .parse.checker import Checker, Known, PolicyError, Problem, secret_envs_check, shapes_check, with_lines
from .parse.checklists import SHAPE as CHECKLISTS
from .parse.checklists import checklists_parse
from .parse.flags import SECTION as FLAGS
from .parse.flags import flags_parse
from .parse.gates import SHAPE as GATES
from .parse.gates import gates_parse
from .parse.integrations import SHAPE as INTEGRATIONS
from .parse.integrations import integrations_parse
from .parse.products import SHAPE as PRODUCTS
from .parse.products import products_parse
from .parse.sso import sso_parse
from .specs import Policy

__all__ = ["Policy", "PolicyError", "Problem", "policy_load", "policy_parse"]

SHAPES = (PRODUCTS, GATES, INTEGRATIONS, CHECKLISTS, CHANNELS)
TOP_KEYS = {shape.section for shape in SHAPES} | {"sso"}
TOP_KEYS |= {FLAGS}  # [[flags]]: checked whole by policy/parse/flags.py


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

    c = Checker()
    for key in data:
        if key not in TOP_KEYS:
            c.add(key, f"unknown section (known: {', '.join(sorted(TOP_KEYS))})")
    entries = {shape.section: c.array(data.get(shape.section), shape.section) for shape in SHAPES}
    known = Known(
        products=set(Product.objects.values_list("slug", flat=True)),
        gates=set(Gate.objects.values_list("key", flat=True)),
    )
    shapes_check(c, [(shape, entries[shape.section]) for shape in SHAPES], known)

    # Each section's own checks, in this order: the problems are listed as they always were.
    product_specs = products_parse(c, entries["products"])
    gate_specs = gates_parse(c, entries["gates"], known)
    integration_specs = integrations_parse(c, entries["integrations"], known)
    checklist_specs = checklists_parse(c, entries["checklists"], known)
    channel_specs = channels_parse(c, entries["channels"], known)
    sso_spec = sso_parse(c, data.get("sso"), known)
    flag_specs = flags_parse(c, data.get(FLAGS), known)
    secret_envs_check(c, data)

    if c.problems:
        raise PolicyError(path, with_lines(c.problems, text))
    return Policy(
        products=product_specs,
        gates=gate_specs,
        integrations=integration_specs,
        checklists=checklist_specs,
        channels=channel_specs,
        sso=sso_spec,
        flags=flag_specs,
    )


def policy_load(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), [Problem("", f"cannot read the file: {exc.strerror}")]) from exc
    return policy_parse(text, path=str(path))
