"""URLs of the field app: reports and audits (included by jinggeng.field.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from jinggeng.field.views import reports as views

urlpatterns: list[URLPattern] = [
    path("report/", views.report_today, name="report"),
    path("reports/<int:report_id>/", views.report_detail, name="report_detail"),
    path("audits/", views.audit_todo, name="audit_list"),
    path("audits/findings/", views.audit_findings, name="audit_findings"),
    path("audits/sample/", views.audit_sample_view, name="audit_sample"),
    path("audits/<int:audit_id>/", views.audit_detail, name="audit_detail"),
]
