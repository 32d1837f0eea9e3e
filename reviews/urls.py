from django.urls import path

from . import exports, views

app_name = "reviews"

WEEK = "reviews/<int:year>-W<int:week>"

urlpatterns = [
    path("reviews/", views.review_current, name="current"),
    path(f"{WEEK}/", views.review_week, name="week"),
    path(f"{WEEK}/minutes.md", views.review_minutes, name="minutes"),
    path(f"{WEEK}/save/", views.review_save, name="save"),
    path(f"{WEEK}/timer/", views.review_timer, name="timer"),
    path(f"{WEEK}/trends/", views.review_trends, name="trends"),
    path(f"{WEEK}/week.csv", exports.review_csv, name="csv"),
    path("reviews/rehearsals/", views.rehearsal_create_view, name="rehearsal_create"),
    path("reviews/actions/", views.action_create_view, name="action_create"),
    path("reviews/actions/<int:pk>/", views.action_update_view, name="action_update"),
]
