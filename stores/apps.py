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
