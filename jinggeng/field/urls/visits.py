"""URLs of the field app: visits (included by jinggeng.field.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from jinggeng.field.views import visits as views

urlpatterns: list[URLPattern] = [
    path("today/", views.today, name="today"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("visits/", views.visit_list, name="visit_list"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("visits/<int:visit_id>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:visit_id>/check-in/", views.visit_check_in, name="visit_check_in"),
    path("visits/<int:visit_id>/check-out/", views.visit_check_out, name="visit_check_out"),
    path("visits/<int:visit_id>/steps/", views.visit_step, name="visit_step"),
    path("visits/<int:visit_id>/photos/", views.visit_photo, name="visit_photo"),
    path("visits/<int:visit_id>/complete/", views.visit_complete, name="visit_complete"),
    path("photos/<int:photo_id>/", views.visit_photo_file, name="visit_photo_file"),
]
