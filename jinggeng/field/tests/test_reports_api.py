"""JSON API of the reports part: figures, reports, audits — and the outsider gets 404."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from jinggeng.core.models import AuditLog
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import AuditStatus, DailyReport, VisitAudit, VisitStatus
from jinggeng.field.tests.factories import VisitFactory
from jinggeng.org.tests.factories import make_employee

pytestmark = pytest.mark.django_db


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_reports_api(rep, outsider, org, area_manager, client_for, settings):
    settings.FIELD_REPORT_DEADLINE = "23:59"
    today = timezone.localdate()
    VisitFactory(account=AccountFactory(owner=rep), rep=rep, org_unit=org.shanghai, visit_date=today,
                 status=VisitStatus.COMPLETED)  # fmt: skip
    client = client_for(rep)
    figures = client.get("/api/v1/field/reports/figures").json()
    assert figures["rep_id"] == rep.pk and figures["figures"]["visits_done"] == 1

    created = post(client, "/api/v1/field/reports", {"day": today.isoformat(), "comments": "好"})
    assert created.status_code == 200, created.content
    body = created.json()
    assert (body["status"], body["version"], body["figures"]["visits_done"], body["late"]) == ("submitted", 1, 1, False)
    bad = post(client, "/api/v1/field/reports", {"day": (today + dt.timedelta(days=2)).isoformat()})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["day"]

    assert client_for(area_manager).get(f"/api/v1/field/reports/{body['id']}").json()["comments"] == "好"
    assert [r["id"] for r in client_for(area_manager).get("/api/v1/field/reports").json()] == [body["id"]]

    other = client_for(outsider)
    logs = AuditLog.objects.count()
    assert other.get(f"/api/v1/field/reports/{body['id']}").status_code == 404
    assert other.get(f"/api/v1/field/reports/figures?rep={rep.pk}").status_code == 404
    assert other.get("/api/v1/field/reports").json() == []
    assert AuditLog.objects.count() == logs
    assert DailyReport.objects.get().version == 1


def test_audits_api(rep, outsider, org, area_manager, client_for):
    supervisor = make_employee("sup", "supervisor", org.shanghai, manager=area_manager.employee).user
    day = timezone.localdate() - dt.timedelta(days=1)
    visit = VisitFactory(account=AccountFactory(owner=rep), rep=rep, org_unit=org.shanghai, visit_date=day,
                         status=VisitStatus.COMPLETED)  # fmt: skip
    manager = client_for(area_manager)
    refused = post(client_for(outsider), "/api/v1/field/audits/sample",
                   {"org_unit_id": org.shanghai.pk, "since": day.isoformat(), "n_random": 1})  # fmt: skip
    assert refused.status_code == 404 and VisitAudit.objects.count() == 0
    sampled = post(manager, "/api/v1/field/audits/sample",
                   {"org_unit_id": org.shanghai.pk, "since": day.isoformat(), "n_random": 1, "seed": 4})  # fmt: skip
    assert sampled.status_code == 201
    (audit,) = sampled.json()
    assert (audit["visit_id"], audit["supervisor_id"], audit["visit_date"]) == (
        visit.pk,
        supervisor.pk,
        day.isoformat(),
    )

    sup = client_for(supervisor)
    assert [a["id"] for a in sup.get("/api/v1/field/audits?mine=true").json()] == [audit["id"]]
    assert client_for(outsider).get(f"/api/v1/field/audits/{audit['id']}").status_code == 404
    assert post(client_for(outsider), f"/api/v1/field/audits/{audit['id']}/finding",
                {"finding": "not_visited", "notes": "x"}).status_code == 404  # fmt: skip
    assert client_for(rep).get("/api/v1/field/audits").json() == []
    bad = post(sup, f"/api/v1/field/audits/{audit['id']}/finding", {"finding": "maybe"})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["finding"]
    ok = post(sup, f"/api/v1/field/audits/{audit['id']}/finding",
              {"finding": "outlet_closed", "notes": "关门了", "expected_version": 1})  # fmt: skip
    assert ok.status_code == 200 and ok.json()["status"] == AuditStatus.DONE
    stale = post(sup, f"/api/v1/field/audits/{audit['id']}/finding",
                 {"finding": "confirmed", "expected_version": 1})  # fmt: skip
    assert stale.status_code == 409
    assert [a["finding"] for a in manager.get("/api/v1/field/audits?problems=true").json()] == ["outlet_closed"]
