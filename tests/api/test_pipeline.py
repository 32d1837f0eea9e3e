"""A pipeline script runs the installed `gonogo` CLI against a running server: it reports
each gate, asks for the verdict before a pretend deploy, and is stopped (exit 1) while
the release is blocked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from board.decisions import release_decide
from checklists.models import ChecklistItem
from checklists.services import checklist_item_tick

from ..releases.builders import build_world, sign_all

SCRIPT = Path(__file__).parent / "scripts" / "pipeline.sh"


def run_pipeline(live_server: Any, world: Any, token: str, marker: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GONOGO_URL": live_server.url,
        "GONOGO_TOKEN": token,
        "PRODUCT": world.product.slug,
        "VERSION": world.release.version,
        "GATES": " ".join(g.key for g in world.gates),
        "DEPLOY_MARKER": str(marker),
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.django_db(transaction=True)
def test_pipeline_is_stopped_while_blocked_and_deploys_on_go(
    live_server: Any, make_user: Any, tmp_path: Path, capsys: Any
) -> None:
    world = build_world(make_user, ready=False)
    call_command("issue_token", "pipeline", product=world.product.slug, scope="results,verdict")
    token = capsys.readouterr().out.strip()
    marker = tmp_path / "deployed"

    blocked = run_pipeline(live_server, world, token, marker)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert not marker.exists()
    assert "accepted" in blocked.stdout  # every gate was reported…
    assert "has not signed off" in blocked.stdout  # …and the blockers were printed

    for item in ChecklistItem.objects.filter(checklist__release=world.release, core=True):
        checklist_item_tick(item=item, state="passed", actor=world.qa)
    sign_all(world)
    ready_undecided = run_pipeline(live_server, world, token, marker)
    assert ready_undecided.returncode == 3, ready_undecided.stdout + ready_undecided.stderr
    assert not marker.exists()

    release_decide(release=world.release, outcome="go", actor=world.pm)
    go = run_pipeline(live_server, world, token, marker)
    assert go.returncode == 0, go.stdout + go.stderr
    assert "duplicate" in go.stdout  # the same runs reported again change nothing
    assert marker.read_text().startswith("deployed")
