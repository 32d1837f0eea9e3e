"""`apply_policy` (CONTRACT §1, §5): idempotent, refused whole on any wrong key."""

from __future__ import annotations

import textwrap
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from gates.models import Gate
from integrations.models import Integration
from releases.models import Product

pytestmark = pytest.mark.django_db

# CONTRACT §5's example, verbatim.
CONTRACT_EXAMPLE = textwrap.dedent(
    """
    [[products]]
    slug = "ios-app"
    name = "iOS app"
    platform = "ios"                 # ios | android | web | backend
    rollout = [1, 5, 20, 100]
    rollback_target_minutes = 15
    signoff_roles = ["qa", "mobile_lead", "devops"]
    [products.health]                # a stage halts when any bound is passed
    error_rate = 0.01
    p95_latency_ms = 800
    rate_429 = 0.005
    soak_minutes = 30

    [[gates]]
    key = "contract"
    name = "Contract tests"
    phase = "pre_release"            # pre_release | post_deploy
    blocking = true
    waivable = true
    owner_role = "backend_lead"

    [[integrations]]
    slug = "gh-ios"
    provider = "github"              # github | gitlab | jenkins | generic
    product = "ios-app"
    secret_env = "GONOGO_GH_IOS_SECRET"
    [integrations.gates]             # CI check/job name pattern → gate key
    "lint*" = "typecheck"
    "pact*" = "contract"
    """
)


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apply_policy", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_contract_example_applies_once_then_changes_nothing(tmp_path: Path) -> None:
    Gate.objects.create(key="typecheck", name="Type check", owner_role="mobile_lead")
    path = write(tmp_path, CONTRACT_EXAMPLE)
    out, _ = run(path)
    assert "created product ios-app" in out and "created gate contract" in out
    assert "created integration gh-ios" in out
    product = Product.objects.get(slug="ios-app")
    assert product.signoff_roles == ["qa", "mobile_lead", "devops"]
    assert (product.health_error_rate, product.health_p95_latency_ms, product.soak_minutes) == (0.01, 800, 30)
    integration = Integration.objects.get(slug="gh-ios")
    assert integration.gate_for("lint-ios") == "typecheck" and integration.gate_for("build") is None
    events = AuditEvent.objects.count()

    out, _ = run(path)
    assert out.strip().endswith("no changes")
    assert AuditEvent.objects.count() == events


def test_a_change_is_reported_and_applied(tmp_path: Path) -> None:
    Gate.objects.create(key="typecheck", name="Type check", owner_role="mobile_lead")
    run(write(tmp_path, CONTRACT_EXAMPLE))
    out, _ = run(
        write(
            tmp_path, CONTRACT_EXAMPLE.replace("rollback_target_minutes = 15", "rollback_target_minutes = 9")
        )
    )
    assert "updated product ios-app (rollback_target_minutes: 15 → 9)" in out
    assert Product.objects.get(slug="ios-app").rollback_target_minutes == 9


def test_unknown_gate_refuses_the_whole_file_naming_the_key(tmp_path: Path) -> None:
    # No `typecheck` gate exists, so the mapping "lint*" = "typecheck" is wrong.
    path = write(tmp_path, CONTRACT_EXAMPLE)
    with pytest.raises(CommandError) as exc:
        run(path)
    assert exc.value.returncode == 1
    assert not Product.objects.exists() and not Gate.objects.exists() and not Integration.objects.exists()
    assert not AuditEvent.objects.exists()
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("apply_policy", path, stdout=out, stderr=err)
    assert 'integrations[0].gates."lint*": unknown gate “typecheck”' in err.getvalue()
    assert path in err.getvalue()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('owner_role = "backend_lead"', 'owner_role = "ceo"'), "gates[0].owner_role: unknown role “ceo”"),
        (
            ('product = "ios-app"', 'product = "web-app"'),
            "integrations[0].product: unknown product “web-app”",
        ),
        (
            ('signoff_roles = ["qa",', 'signoff_roles = ["tester",'),
            "products[0].signoff_roles[0]: unknown role",
        ),
        (("rollout = [1, 5, 20, 100]", "rolout = [1, 5]"), "products[0].rolout: unknown key"),
        (("error_rate = 0.01", "error_rate = 1.5"), "products[0].health.error_rate: is a fraction"),
        (('platform = "ios"', 'platform = "symbian"'), "products[0].platform: “symbian” is not one of"),
        (("blocking = true", 'blocking = "yes"'), "gates[0].blocking: must be true or false"),
    ],
)
def test_each_kind_of_mistake_is_named(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    Gate.objects.create(key="typecheck", name="Type check", owner_role="mobile_lead")
    text = CONTRACT_EXAMPLE.replace(*change)
    assert text != CONTRACT_EXAMPLE
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("apply_policy", write(tmp_path, text), stdout=StringIO(), stderr=err)
    assert expected in err.getvalue()
    assert not Product.objects.exists()


def test_problems_carry_the_line_number(tmp_path: Path) -> None:
    Gate.objects.create(key="typecheck", name="Type check", owner_role="mobile_lead")
    text = CONTRACT_EXAMPLE.replace('owner_role = "backend_lead"', 'owner_role = "ceo"')
    line = next(n for n, raw in enumerate(text.splitlines(), 1) if raw.startswith("owner_role"))
    path = write(tmp_path, text)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("apply_policy", path, stdout=StringIO(), stderr=err)
    assert f"{path}:{line}: gates[0].owner_role" in err.getvalue()


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[[products]]\nslug = "x\nname = 1\n')
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("apply_policy", path, stdout=StringIO(), stderr=err)
    assert f"{path}:2: not valid TOML" in err.getvalue()


def test_check_only_validates(tmp_path: Path) -> None:
    Gate.objects.create(key="typecheck", name="Type check", owner_role="mobile_lead")
    out, _ = run(write(tmp_path, CONTRACT_EXAMPLE), "--check")
    assert "valid" in out and not Product.objects.exists()


def test_default_policy_applies_cleanly_twice() -> None:
    path = str(Path(__file__).resolve().parents[2] / "policy" / "defaults.toml")
    run(path)
    assert Gate.objects.count() == 6
    assert not Gate.objects.get(key="critical-bugs").waivable
    out, _ = run(path)
    assert out.strip().endswith("no changes")


def test_checklist_template_sync_removes_items_no_longer_in_the_file(tmp_path: Path) -> None:
    base = textwrap.dedent(
        """
        [[checklists]]
        key = "qa"
        name = "QA"
        kind = "release"
        [[checklists.sections]]
        title = "Login"
        [[checklists.sections.items]]
        title = "Log in"
        core = true
        [[checklists.sections.items]]
        title = "Log out"
        """
    )
    run(write(tmp_path, base))
    out, _ = run(write(tmp_path, base.replace('title = "Log out"', 'title = "Reset password"')))
    assert "removed checklist qa section “Login” item “Log out”" in out
    assert "created checklist qa section “Login” item “Reset password”" in out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('slug = "ios-app"', 'slug = "iOS App!"'), "products[0].slug: use lower-case letters"),
        (
            ("rollback_target_minutes = 15", "rollback_target_minutes = -5"),
            "rollback_target_minutes: must be 0 or more",
        ),
        (("soak_minutes = 30", "soak_minutes = -1"), "health.soak_minutes: must be 0 or more"),
        (
            ('secret_env = "GONOGO_GH_IOS_SECRET"', 'secret_env = "hunter2 is my secret"'),
            "not the secret itself",
        ),
    ],
)
def test_more_mistakes_are_named(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    Gate.objects.create(key="typecheck", name="Type check", owner_role="mobile_lead")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "apply_policy", write(tmp_path, CONTRACT_EXAMPLE.replace(*change)), stdout=StringIO(), stderr=err
        )
    assert expected in err.getvalue()
    assert not Product.objects.exists()


def test_duplicate_sections_and_on_call_roles_are_refused(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """
        [[products]]
        slug = "api"
        name = "API"
        platform = "backend"
        runbook_url = "javascript:alert(1)"
        [[products.oncall]]
        role = "qa"
        name = "A"
        contact = "a"
        [[products.oncall]]
        role = "qa"
        name = "B"
        contact = "b"

        [[checklists]]
        key = "qa"
        name = "QA"
        kind = "release"
        [[checklists.sections]]
        title = "Login"
        [[checklists.sections]]
        title = "Login"
        """
    )
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("apply_policy", write(tmp_path, text), stdout=StringIO(), stderr=err)
    assert "products[0].oncall[1].role: “qa” has two on-call contacts" in err.getvalue()
    assert "checklists[0].sections[1].title: “Login” appears twice" in err.getvalue()
    assert "products[0].runbook_url: must be an http or https link" in err.getvalue()


def test_check_on_an_invalid_file_exits_1(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as exc:
        call_command(
            "apply_policy",
            write(tmp_path, "[[gates]]\nkey = 1\n"),
            "--check",
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert exc.value.returncode == 1
