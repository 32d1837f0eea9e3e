from django.urls import path

from . import views

app_name = "gates"

urlpatterns = [
    path(
        "releases/<slug:product>/<str:version>/gates/<slug:gate>/waivers/",
        views.waiver_create,
        name="waiver_create",
    ),
    path("waivers/<int:pk>/approve/", views.waiver_approve_view, name="waiver_approve"),
    path("waivers/<int:pk>/reject/", views.waiver_reject_view, name="waiver_reject"),
    path("waivers/<int:pk>/revoke/", views.waiver_revoke_view, name="waiver_revoke"),
    path("waivers/<int:pk>/carry-over/", views.waiver_carry_over_view, name="waiver_carry_over"),
]
