"""URLs of the field app: stock (included by jinggeng.field.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from jinggeng.field.views import stock as views

urlpatterns: list[URLPattern] = [
    path("visits/<int:visit_id>/stock/", views.visit_stock, name="visit_stock"),
    path("visits/<int:visit_id>/suggest/", views.visit_suggest, name="visit_suggest"),
    path("visits/<int:visit_id>/competitor/", views.visit_competitor, name="visit_competitor"),
    path("card/<int:account_id>/", views.card, name="card"),
    path("distribution/", views.distribution, name="distribution"),
]
