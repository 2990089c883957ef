"""URLs of the field app: routes (included by jinggeng.field.urls under ``/field/``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from jinggeng.field.views import routes as views

urlpatterns: list[URLPattern] = [
    path("routes/", views.route_list, name="route_list"),
    path("routes/new/", views.route_form, name="route_create"),
    path("routes/standards/", views.standard_list, name="standard_list"),
    path("routes/optimise/", views.route_optimise, name="route_optimise"),
    path("routes/proposals/", views.proposal_list, name="proposal_list"),
    path("routes/proposals/<int:proposal_id>/", views.proposal_detail, name="proposal_detail"),
    path("routes/proposals/<int:proposal_id>/<str:decision>/", views.proposal_decide, name="proposal_decide"),
    path("routes/<int:route_id>/", views.route_detail, name="route_detail"),
    path("routes/<int:route_id>/edit/", views.route_form, name="route_edit"),
    path("routes/<int:route_id>/delete/", views.route_delete, name="route_delete"),
    path("routes/<int:route_id>/stops/", views.route_stop_add, name="route_stop_add"),
    path(
        "routes/<int:route_id>/stops/<int:account_id>/<str:action>/",
        views.route_stop_change,
        name="route_stop_change",
    ),
]
