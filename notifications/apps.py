from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Alert channels")

    def ready(self) -> None:
        from releases.events import release_event

        from .dispatch import release_event_receive

        release_event.connect(release_event_receive, dispatch_uid="notifications.deliveries")
