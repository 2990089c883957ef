"""URLs of the field app (``/field/``): one module per part."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from jinggeng.field.urls import reports, routes, stock, visits

app_name = "field"

urlpatterns: list[URLPattern | URLResolver] = [
    *routes.urlpatterns,
    *visits.urlpatterns,
    *stock.urlpatterns,
    *reports.urlpatterns,
]
