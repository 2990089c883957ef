"""URLs of the field app: stock (included by jinggeng.field.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
