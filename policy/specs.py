"""What a validated policy file says, as typed values (docs/policy.md).

Each section of the file becomes a tuple of frozen specs. A default here is the one the
applier uses when the key is left out; `None` means "not in the file: leave what is
stored as it is" (a product's optional settings, a gate's or channel's products).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SourceSpec:
    """`[products.health.prometheus]` or `[products.health.sentry]`: where health is read
    while the product rolls out. A table in the file defines the source whole."""

    kind: str
    url: str
    token_env: str = ""
    interval_seconds: int = 60
    queries: tuple[tuple[str, str], ...] = ()  # Prometheus: (metric, PromQL)
    org: str = ""  # Sentry
    project: str = ""
    release_template: str = "{product}@{version}+{build}"
    active: bool = True


@dataclass(frozen=True)
class HealthSpec:
    """`[products.health]`: the bounds a rollout stage halts at, whether it advances by
    itself, and its monitoring sources; `None`: not in the file."""

    error_rate: float | None = None
    p95_latency_ms: int | None = None
    rate_429: float | None = None
    crash_free_sessions: float | None = None
    soak_minutes: int | None = None
    auto_advance: bool | None = None
    prometheus: SourceSpec | None = None
    sentry: SourceSpec | None = None


@dataclass(frozen=True)
class AppStoreSpec:
    """`[products.appstore]`: the App Store Connect API key and app (docs/app-store.md)."""

    issuer_id: str
    key_id: str
    private_key_env: str
    app_id: str
    active: bool = True


@dataclass(frozen=True)
class OnCallSpec:
    """`[[products.oncall]]`: who to call for one role."""

    role: str
    name: str
    contact: str


@dataclass(frozen=True)
class SlackSpec:
    """`[products.slack]`: the channel the product asks its missing sign-offs in."""

    channel: str
    active: bool = True


@dataclass(frozen=True)
class PlaySpec:
    """`[products.play]`: the product's Google Play source. A table in the file defines
    the source whole; a file without one leaves the stored source as it is."""

    package_name: str
    key_env: str
    track: str = "production"
    active: bool = True


@dataclass(frozen=True)
class ProductSpec:
    """`[[products]]`. The optional settings are `None` when the file leaves them out."""

    slug: str
    name: str
    platform: str
    rollout: tuple[int, ...] | None = None
    rollback_target_minutes: int | None = None
    signoff_roles: tuple[str, ...] | None = None
    runbook_url: str | None = None
    rehearsal_window_days: int | None = None
    language: str | None = None
    contacts_review_days: int | None = None
    health: HealthSpec = field(default_factory=HealthSpec)
    oncall: tuple[OnCallSpec, ...] = ()
    slack: SlackSpec | None = None  # `[products.slack]`; None: keep the stored channel
    appstore: AppStoreSpec | None = None  # `[products.appstore]`; None: keep what is stored
    play: PlaySpec | None = None  # `[products.play]` (Google Play)


@dataclass(frozen=True)
class GateSpec:
    """`[[gates]]`. `position` `None`: by its place in the file; `products` `None`: keep."""

    key: str
    name: str
    owner_role: str
    description: str = ""
    phase: str = "pre_release"
    blocking: bool = True
    waivable: bool = False
    evaluation: str = "ci"
    allow_failure_passes: bool = False
    position: int | None = None
    products: tuple[str, ...] | None = None


@dataclass(frozen=True)
class IntegrationSpec:
    """`[[integrations]]`. `gates`: (CI check/job name pattern, gate key), in file order."""

    slug: str
    provider: str
    product: str
    secret_env: str = ""
    api_token_env: str = ""
    gates: tuple[tuple[str, str], ...] = ()
    api_url: str = ""
    repository: str = ""
    active: bool = True
    deploy_environments: tuple[str, ...] = ()  # the GitHub App; empty: ("production",)


@dataclass(frozen=True)
class ItemSpec:
    """`[[checklists.sections.items]]`."""

    title: str
    instructions: str = ""
    core: bool = False
    owner_role: str = "qa"
    evidence: str = ""  # programme checks: the record that ticks it (checklists.models.Evidence)


@dataclass(frozen=True)
class SectionSpec:
    """`[[checklists.sections]]`."""

    title: str
    items: tuple[ItemSpec, ...] = ()


@dataclass(frozen=True)
class ChecklistSpec:
    """`[[checklists]]`: a template, defined whole. `products` `None`: keep."""

    key: str
    name: str
    kind: str
    products: tuple[str, ...] | None = None
    sections: tuple[SectionSpec, ...] = ()


@dataclass(frozen=True)
class ChannelSpec:
    """`[[channels]]`. `products` `None`: keep; `events` empty: every event."""

    slug: str
    kind: str
    url_env: str = ""
    secret_env: str = ""
    routing_key_env: str = ""
    email: str = ""
    products: tuple[str, ...] | None = None
    events: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class SsoRoleSpec:
    """`[[sso.roles]]`: members of `group` get `role`, for `product` (`None`: all products)."""

    group: str
    role: str
    product: str | None = None


@dataclass(frozen=True)
class SsoSpec:
    """`[sso]`. `groups_claim` `None`: keep the stored one. The rules are defined whole."""

    groups_claim: str | None = None
    roles: tuple[SsoRoleSpec, ...] = ()


@dataclass(frozen=True)
class Policy:
    """A whole validated file. `sso` `None`: the file has no [sso] section, nothing changes."""

    products: tuple[ProductSpec, ...] = ()
    gates: tuple[GateSpec, ...] = ()
    integrations: tuple[IntegrationSpec, ...] = ()
    checklists: tuple[ChecklistSpec, ...] = ()
    channels: tuple[ChannelSpec, ...] = ()
    sso: SsoSpec | None = None
    flags: tuple[FlagSpec, ...] = ()


# --- [[flags]] (policy/parse/flags.py) -------------------------------------------------


@dataclass(frozen=True)
class FlagSpec:
    """`[[flags]]`: one feature flag of a product, defined whole (a key left out: its default)."""

    product: str
    key: str
    provider: str
    url: str
    name: str = ""
    project: str = "default"
    environment: str = "production"
    token_env: str = ""
    secret_env: str = ""
    active: bool = True
