from django.urls import path

from . import views

app_name = "releases"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("releases/<slug:product>/<str:version>/", views.release_board_view, name="release_board"),
    path("releases/<slug:product>/<str:version>/signoffs/", views.signoff_create, name="signoff_create"),
    path("releases/<slug:product>/<str:version>/decision/", views.release_decide_view, name="release_decide"),
    path(
        "releases/<slug:product>/<str:version>/rollout/", views.release_rollout_view, name="release_rollout"
    ),
    path("releases/<slug:product>/<str:version>/meeting/", views.meeting_view, name="meeting"),
    path(
        "releases/<slug:product>/<str:version>/meeting/start/", views.meeting_start_view, name="meeting_start"
    ),
    path(
        "releases/<slug:product>/<str:version>/meeting/<int:pk>/",
        views.meeting_update_view,
        name="meeting_update",
    ),
    path(
        "releases/<slug:product>/<str:version>/meeting/minutes.md",
        views.meeting_minutes,
        name="meeting_minutes",
    ),
]
