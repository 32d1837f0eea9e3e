"""The stores a release ships through: Google Play's staged rollout on the production
track and App Store Connect's phased release, driven by the board's rollout steps and
read back on a schedule (docs/google-play.md, docs/app-store.md)."""

from django.apps import AppConfig


class StoresConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stores"

    def ready(self) -> None:
        from releases.events import release_event

        from . import appstore_admin, appstore_tasks  # noqa: F401 (the admin, the Celery tasks)
        from .appstore_events import appstore_event_receive

        release_event.connect(appstore_event_receive, dispatch_uid="stores.appstore")
        # Google Play (stores/play_*.py): the rollout's steps sent to Play's track; the
        # imports register its admin pages and Celery tasks (stores.play_step, play_read,
        # play_sweep).
        from . import play_admin, play_tasks  # noqa: F401  (admin pages, Celery tasks)
        from .play_services import play_event_receive

        release_event.connect(play_event_receive, dispatch_uid="stores.play")
