from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.channel_list, name="channels"),
    path("<slug:slug>/", views.channel_detail, name="channel"),
    path("<slug:slug>/test/", views.channel_test, name="channel_test"),
]
