from django.urls import path

from . import views

app_name = "reviews"

WEEK = "reviews/<int:year>-W<int:week>"

urlpatterns = [
    path("reviews/", views.review_current, name="current"),
    path(f"{WEEK}/", views.review_week, name="week"),
    path(f"{WEEK}/minutes.md", views.review_minutes, name="minutes"),
    path(f"{WEEK}/save/", views.review_save, name="save"),
    path("reviews/actions/", views.action_create_view, name="action_create"),
    path("reviews/actions/<int:pk>/", views.action_update_view, name="action_update"),
]
