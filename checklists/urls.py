from django.urls import path, re_path

from . import views

app_name = "checklists"

RELEASE = "releases/<slug:product>/<str:version>"

urlpatterns = [
    path(f"{RELEASE}/checklist/", views.checklist_view, name="checklist"),
    path(f"{RELEASE}/checklist/items/<int:pk>/tick/", views.checklist_item_tick_view, name="item_tick"),
    path(f"{RELEASE}/checklist/undo/", views.checklist_undo_view, name="tick_undo"),
    path(
        f"{RELEASE}/checklist/<int:pk>/update/", views.checklist_template_update_view, name="template_update"
    ),
    re_path(
        r"^releases/(?P<product>[-\w]+)/(?P<version>[^/]+)/checklist/report\.(?P<fmt>md|csv)$",
        views.checklist_report,
        name="report",
    ),
    path(f"{RELEASE}/defects/", views.defect_create_view, name="defect_create"),
    path("defects/<int:pk>/resolve/", views.defect_resolve_view, name="defect_resolve"),
    path("defects/<int:pk>/reopen/", views.defect_reopen_view, name="defect_reopen"),
    path("programme/items/<int:pk>/approve/", views.programme_item_approve_view, name="programme_approve"),
]
