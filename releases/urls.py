from django.urls import path

from . import views

app_name = "releases"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("releases/<slug:product>/<str:version>/", views.release_board_view, name="release_board"),
]
