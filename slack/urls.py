from django.urls import path

from . import views

app_name = "slack"

urlpatterns = [
    path("slack/interactions", views.interactions_view, name="interactions"),
    path("releases/<slug:product>/<str:version>/slack/ask/", views.ask_view, name="ask"),
]
