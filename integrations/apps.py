from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("CI integrations")

    def ready(self) -> None:
        from releases.events import release_commit_set, release_event

        from .github_events import release_event_receive
        from .inbox import deliveries_replay_schedule

        def replay(sender: object, release: object, **kwargs: object) -> None:
            deliveries_replay_schedule(release=release)  # type: ignore[arg-type]

        release_commit_set.connect(replay, weak=False, dispatch_uid="integrations.replay_on_commit_set")
        # The GitHub App: waiting deployments answered on the decision, statuses refreshed.
        release_event.connect(release_event_receive, dispatch_uid="integrations.github_app")
        from board.ports import decision_notes_register

        from .github_notes import deployment_notes

        decision_notes_register(deployment_notes)
