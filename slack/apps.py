"""Sign-offs from Slack: the missing sign-offs asked for in a channel with Block Kit
buttons, the votes recorded by the board's own rules (docs/slack.md)."""

from django.apps import AppConfig


class SlackConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "slack"

    def ready(self) -> None:
        from board.ports import signoffs_extra_provide

        from .selectors import slack_for_board

        signoffs_extra_provide("slack", slack_for_board)
