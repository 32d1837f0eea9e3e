from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BoardConfig(AppConfig):
    name = "board"
    verbose_name = _("Board")

    def ready(self) -> None:
        # The programme checks that records tick listen to the domain apps' signals.
        from . import programme

        programme.connect()
