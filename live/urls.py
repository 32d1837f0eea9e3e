from django.urls import path

from . import views

app_name = "live"

urlpatterns = [
    path("releases/<int:release_id>/events/", views.release_events, name="release_events"),
    path("dashboard/events/", views.dashboard_events, name="dashboard_events"),
]
