"""No lost ticks, on PostgreSQL with real concurrent connections: two testers on the same
item → one wins and the other is told who; testers on different items → every tick lands."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from checklists.models import ChecklistItem
from checklists.services import checklist_item_tick
from core.errors import Conflict

from ..board.test_races import in_threads
from ..releases.builders import build_world


def test_two_testers_on_one_item_one_wins_the_other_sees_who(postgres_tx: None, make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    testers = [make_user(Role.QA, product=world.product, username=name) for name in ("minji", "jisoo")]
    item = ChecklistItem.objects.filter(checklist__release=world.release).first()
    assert item is not None
    barrier = threading.Barrier(2)

    def tick(actor: Any, state: str) -> Callable[[], Any]:
        def job() -> Any:
            barrier.wait()
            return checklist_item_tick(item=item, state=state, actor=actor, expected_revision=0)

        return job

    results = in_threads(tick(testers[0], "passed"), tick(testers[1], "failed"))
    won = [r for r in results if isinstance(r, ChecklistItem)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    item.refresh_from_db()
    assert (item.state, item.ticked_by, item.revision) == (won[0].state, won[0].ticked_by, 1)
    assert lost[0].extra["current_by"] == won[0].ticked_by.username  # told who, not overwritten
    assert lost[0].extra["current_state"] == won[0].state
    assert AuditEvent.objects.filter(action="checklist_item.tick").count() == 1


def test_many_testers_on_different_items_every_tick_lands(postgres_tx: None, make_user: Any) -> None:
    world = build_world(make_user, ready=False, core_items=12)
    items = list(ChecklistItem.objects.filter(checklist__release=world.release))
    testers = [make_user(Role.QA, product=world.product) for _ in range(4)]
    barrier = threading.Barrier(len(testers))

    def tester(n: int) -> Callable[[], Any]:
        def job() -> int:
            client = Client()
            client.force_login(testers[n])
            barrier.wait()
            done = 0
            for item in items[n :: len(testers)]:
                url = reverse(
                    "checklists:item_tick",
                    kwargs={"product": world.product.slug, "version": world.release.version, "pk": item.pk},
                )
                response = client.post(
                    url, {"state": "passed", "revision": item.revision}, headers={"HX-Request": "true"}
                )
                assert response.status_code == 200, response.content
                done += 1
            return done

        return job

    results = in_threads(*(tester(n) for n in range(len(testers))))
    assert sum(r for r in results if isinstance(r, int)) == len(items), results
    states = list(
        ChecklistItem.objects.filter(checklist__release=world.release).values_list("state", "revision")
    )
    assert states and all(s == ("passed", 1) for s in states)
    assert AuditEvent.objects.filter(action="checklist_item.tick").count() == len(items)
