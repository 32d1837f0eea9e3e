from django.urls import path

from . import appstore_views, flag_views, product_views, promote, store_views, streams, views, waiver_views

app_name = "board"

RELEASE = "releases/<slug:product>/<str:version>"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path(f"{RELEASE}/", views.release_board_view, name="release_board"),
    path(f"{RELEASE}/signoffs/", views.signoff_create, name="signoff_create"),
    path(f"{RELEASE}/decision/", views.release_decide_view, name="release_decide"),
    path(f"{RELEASE}/rollout/", views.release_rollout_view, name="release_rollout"),
    path(f"{RELEASE}/appstore/", appstore_views.release_appstore_view, name="release_appstore"),
    # Google Play (stores/): read the track now, retry a refused step (DevOps).
    path(f"{RELEASE}/stores/play/read/", store_views.play_read_view, name="play_read"),
    path(f"{RELEASE}/stores/play/retry/", store_views.play_retry_view, name="play_retry"),
    path(f"{RELEASE}/promote/", promote.release_promote_view, name="release_promote"),
    path(f"{RELEASE}/meeting/", views.meeting_view, name="meeting"),
    path(f"{RELEASE}/meeting/start/", views.meeting_start_view, name="meeting_start"),
    path(f"{RELEASE}/meeting/<int:pk>/", views.meeting_update_view, name="meeting_update"),
    path(f"{RELEASE}/meeting/minutes.md", views.meeting_minutes, name="meeting_minutes"),
    path(f"{RELEASE}/gates/<slug:gate>/waivers/", waiver_views.waiver_create, name="waiver_create"),
    # Feature flags (flags/, docs/flags.md): Kill with a reason; attach or detach.
    path(f"{RELEASE}/flags/<str:key>/kill/", flag_views.flag_kill_view, name="flag_kill"),
    path(f"{RELEASE}/flags/<str:key>/ship/", flag_views.flag_ship_view, name="flag_ship"),
    path("products/<slug:slug>/", product_views.product_page, name="product_page"),
    path("products/<slug:slug>/runbook/", product_views.runbook_update, name="runbook_update"),
    path("products/<slug:slug>/oncall/", product_views.oncall_update, name="oncall_update"),
    path("products/<slug:slug>/rehearsals/", product_views.rehearsal_record_view, name="rehearsal_record"),
    path("waivers/<int:pk>/approve/", waiver_views.waiver_approve_view, name="waiver_approve"),
    path("waivers/<int:pk>/reject/", waiver_views.waiver_reject_view, name="waiver_reject"),
    path("waivers/<int:pk>/revoke/", waiver_views.waiver_revoke_view, name="waiver_revoke"),
    path("waivers/<int:pk>/carry-over/", waiver_views.waiver_carry_over_view, name="waiver_carry_over"),
    # Server-Sent Events: one stream per open board or dashboard.
    path("live/releases/<int:release_id>/events/", streams.release_events, name="release_events"),
    path("live/dashboard/events/", streams.dashboard_events, name="dashboard_events"),
    path("live/reviews/events/", streams.review_events, name="review_events"),
]
