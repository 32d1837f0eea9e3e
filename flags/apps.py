"""Feature flags per product, attached to the releases that ship them, and their kill
switch (Unleash's admin API or a signed generic webhook): docs/flags.md."""

from django.apps import AppConfig


class FlagsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "flags"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from releases.models import Release

        from .signals import release_saved

        post_save.connect(release_saved, sender=Release, dispatch_uid="flags.release_saved")
