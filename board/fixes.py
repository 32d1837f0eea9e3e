"""Where each blocker is fixed, and by whom, for one viewer.

Every blocker on the board and the dashboard links to the place it is fixed
(`ReleaseBoard.blocker_items`' `href`: the board's row, the checklist page, the product
page, or a failed gate's CI run). When the viewer may not fix it, the link is followed by
who may ("Added on the product page by DevOps of api."). Who may is read from the one
capability table (`HOLDERS`), so the words stay true when the table changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from accounts.capabilities import HOLDERS, Capability, can, roles_for
from accounts.models import Role
from releases.models import ReleaseState

from .verdict import Blocker

if TYPE_CHECKING:
    from .selectors import GateRow, ReleaseBoard

FAILING = frozenset({"gate_failed", "gate_error", "gate_skipped", "gate_waiver_expired"})


def _label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


def roles_text(roles: set[str] | frozenset[str]) -> str:
    """Roles in words, in the table's order: "QA, Mobile Lead or Backend Lead"."""
    names = [_label(r) for r in Role.values if r in roles] + sorted(r for r in roles if r not in Role.values)
    if len(names) <= 1:
        return "".join(names)
    return _("%(roles)s or %(last)s") % {"roles": ", ".join(names[:-1]), "last": names[-1]}


def _holders(capability: Capability) -> frozenset[str]:
    return frozenset(str(r) for r in HOLDERS[capability])


def _gate_fix(
    blocker: Blocker, row: GateRow | None, user: Any, product: Any, who_of: dict[str, str]
) -> tuple[str, bool, str, list[tuple[str, str]]]:
    """(href, may fix, who may, more links) for a CI gate's blocker."""
    if row is None:
        return f"#gate-{blocker.target_id}", False, "", []
    owner = row.gate.owner_role
    url = row.result.url if row.result and row.result.url else ""
    # The gate's row on the board: its summary, its CI run and the waiver form, one click
    # away; the CI run itself is the next link.
    href = f"#gate-{row.gate.key}"
    ci = [(_("CI run"), url)] if url else []
    owns = bool(owner) and owner in roles_for(user, product)
    if blocker.code in FAILING:
        asks = row.may_ask_waiver and can(user, Capability.ASK_WAIVER, product)
        more = ci + ([(_("Ask for a waiver"), f"#gate-{row.gate.key}")] if asks else [])
        if row.gate.waivable:
            who = _(
                "Fixed and run again by %(owner)s; or a waiver, asked by %(askers)s and approved by %(approvers)s."
            )
            who %= {
                "owner": who_of["owner"],
                "askers": roles_text(_holders(Capability.ASK_WAIVER)),
                "approvers": roles_text(_holders(Capability.APPROVE_WAIVER)),
            }
        else:
            who = _("Fixed and run again by %(owner)s (this gate may not be waived).") % {
                "owner": who_of["owner"]
            }
        return href, owns or asks, who, more
    # Still running, or nothing reported: CI answers, nobody in the app.
    return href, owns, _("Reported by CI; %(owner)s runs it.") % {"owner": who_of["owner"]}, ci


def fix_links(board: ReleaseBoard, user: Any) -> list[dict[str, Any]]:
    """Each blocker of `board` as the board shows it to `user`: `blocker_items`' code,
    message, anchor and href, with `external` (a link out of the app, opened in a new tab), `who` (who
    may fix it, when `user` may not; else '') and `more` (other links: (label, href))."""
    release = board.release
    product = release.product
    slug = product.slug
    rows = {row.gate.key: row for row in board.gates}
    items = {str(item.pk): item for item in board.checklist_items}
    links = []
    for blocker, item in zip(board.verdict.blockers, board.blocker_items, strict=True):
        href: str = item["href"]
        more: list[tuple[str, str]] = []
        if blocker.target == "gate" and blocker.code != "core_checklist_missing":
            row = rows.get(blocker.target_id)
            owner = row.gate.owner_role if row else ""
            who_of = {
                "owner": _("%(role)s of %(product)s") % {"role": _label(owner), "product": slug}
                if owner
                else _("the gate's owner")
            }
            href, may, who, more = _gate_fix(blocker, row, user, product, who_of)
        elif blocker.code == "core_checklist_missing":
            if release.state == ReleaseState.DRAFT:
                href, may = "#promote", False
                who = _("Copied from its template when the release becomes a candidate.")
            else:
                may = can(user, Capability.UPDATE_CHECKLIST_FROM_TEMPLATE, product)
                who = _("Brought in line with its template on the checklist page by %(who)s of %(product)s.")
                who %= {
                    "who": roles_text(_holders(Capability.UPDATE_CHECKLIST_FROM_TEMPLATE)),
                    "product": slug,
                }
        elif blocker.target == "defect":
            may = can(user, Capability.RESOLVE_DEFECT, product)
            who = _("Resolved on the checklist page by %(who)s of %(product)s.")
            who %= {"who": roles_text(_holders(Capability.RESOLVE_DEFECT)), "product": slug}
        elif blocker.target == "checklist_item":
            owner_role = getattr(items.get(blocker.target_id), "owner_role", "") or ""
            tickers = set(_holders(Capability.TICK_ANY_ITEM)) | ({owner_role} if owner_role else set())
            may = can(user, Capability.TICK_ANY_ITEM, product) or bool(
                owner_role and can(user, Capability.TICK_OWN_ITEM, product, role=owner_role)
            )
            who = _("Checked on the checklist page by %(who)s of %(product)s.")
            who %= {"who": roles_text(tickers), "product": slug}
        elif blocker.target == "signoff":
            role = blocker.target_id
            may = can(user, Capability.SIGN_OFF, product, role=role)
            who = _("Signed on this board by %(who)s of %(product)s.") % {
                "who": _label(role),
                "product": slug,
            }
        else:  # operations: the product page's sections
            capability = (
                Capability.RECORD_ROLLBACK_REHEARSAL
                if blocker.target_id == "rehearsal"
                else Capability.EDIT_OPERATIONS
            )
            may = can(user, capability, product)
            if blocker.target_id == "rehearsal":
                text = _("Recorded on the product page by %(who)s of %(product)s.")
            elif blocker.code in ("oncall_not_reviewed", "oncall_never_reviewed"):
                text = _("Reviewed on the product page by %(who)s of %(product)s.")
            else:
                text = _("Added on the product page by %(who)s of %(product)s.")
            who = text % {"who": roles_text(_holders(capability)), "product": slug}
        links.append(
            {
                **item,
                "href": href,
                "external": href.startswith(("http://", "https://")),
                "who": "" if may else who,
                "more": more,
            }
        )
    return links
