"""The stock part of the field API: counts, suggestions, accept, competitor notes, stock sheet,
distribution — scope, problem details, idempotency."""

# ruff: noqa: F811  (the shared fixtures are imported from factories_stock)

from __future__ import annotations

import datetime as dt
import json

from jinggeng.core.models import AuditLog
from jinggeng.field.models import CompetitorNote, StockCount, SuggestedOrderLine, VisitStep
from jinggeng.field.tests.factories_stock import (  # noqa: F401 (fixtures)
    DAY,
    cola,
    history,
    outlet,
    record_today,
    tea,
    visit,
)
from jinggeng.orders.models import OrderLine, SalesOrder

API = "/api/v1/field"


def send(client, method, url, data, **headers):
    return getattr(client, method)(url, data=json.dumps(data), content_type="application/json", **headers)


def test_put_stock_and_read_it_back(client_for, rep, visit, cola, tea):
    c = client_for(rep)
    body = {
        "lines": [
            {"sku": "COLA", "stock_cases": 1, "stock_pieces": 5, "received": 24, "facings": 3, "price_seen": "3.80"},
            {"sku": tea.pk, "stock": 0},
        ]
    }
    r = send(c, "put", f"{API}/visits/{visit.pk}/stock", body)
    assert r.status_code == 200, r.content
    assert [(x["sku_code"], x["stock"], x["received"], x["facings"], x["price_seen"]) for x in r.json()] == [
        ("COLA", 29, 24, 3, "3.80"),
        ("TEA", 0, 0, None, None),
    ]
    r = c.get(f"{API}/visits/{visit.pk}/stock")
    assert [x["stock"] for x in r.json()] == [29, 0]


def test_bad_stock_lines_answer_422_naming_the_line(client_for, rep, visit, cola):
    c = client_for(rep)
    body = {"lines": [{"sku": "COLA", "stock": -3}, {"sku": "GHOST", "stock": 1}, {"sku": "COLA", "stock": 1}]}
    r = send(c, "put", f"{API}/visits/{visit.pk}/stock", body)
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "stock_invalid"
    assert problem["errors"] == [
        {"field": "lines.0.stock", "message": "第 1 行（COLA）：库存不能为负数"},
        {"field": "lines.1.sku", "message": "第 2 行：SKU 不存在：GHOST"},
        {"field": "lines.2.sku", "message": "第 3 行：SKU COLA 与第 1 行重复"},
    ]
    assert StockCount.objects.count() == 0
    r = send(c, "put", f"{API}/visits/{visit.pk}/stock", {"lines": [{"sku": "COLA", "stock": "many"}]})
    assert r.status_code == 422
    assert StockCount.objects.count() == 0


def test_outsider_gets_404_everywhere_and_nothing_changes(client_for, rep, outsider, visit, history, cola):
    record_today(rep, visit)
    logs = AuditLog.objects.count()
    c = client_for(outsider)
    v = visit.pk
    assert c.get(f"{API}/visits/{v}/stock").status_code == 404
    assert send(c, "put", f"{API}/visits/{v}/stock", {"lines": [{"sku": "COLA", "stock": 1}]}).status_code == 404
    assert c.get(f"{API}/visits/{v}/suggestion").status_code == 404
    assert c.post(f"{API}/visits/{v}/suggestion").status_code == 404
    assert send(c, "post", f"{API}/visits/{v}/suggestion/accept", {"quantities": []}).status_code == 404
    assert c.get(f"{API}/visits/{v}/competitor-notes").status_code == 404
    assert send(c, "post", f"{API}/visits/{v}/competitor-notes", {"brand_name": "x"}).status_code == 404
    assert c.get(f"{API}/accounts/{visit.account_id}/stock-sheet").status_code == 404
    assert sorted(StockCount.objects.filter(visit=visit).values_list("stock", flat=True)) == [10, 20]
    assert SuggestedOrderLine.objects.count() == 0
    assert CompetitorNote.objects.count() == 0
    assert SalesOrder.objects.count() == 0
    assert AuditLog.objects.count() == logs


def test_suggest_accept_creates_the_draft_order_once(client_for, rep, visit, history, settings):
    settings.FIELD_ORDER_LEAD_DAYS = 2
    settings.FIELD_SAFETY_DAYS = 3
    record_today(rep, visit)
    c = client_for(rep)
    r = c.post(f"{API}/visits/{visit.pk}/suggestion")
    assert r.status_code == 200, r.content
    lines = {x["sku_code"]: x for x in r.json()["lines"]}
    assert (lines["COLA"]["daily_rate"], lines["COLA"]["suggested_pieces"], lines["COLA"]["suggested_qty"]) == (
        "3.286",
        20,
        1,
    )
    assert (lines["TEA"]["unit_pieces"], lines["TEA"]["suggested_qty"]) == (12, 2)
    body = {"quantities": [{"sku": "COLA", "quantity": 3}]}
    r = send(c, "post", f"{API}/visits/{visit.pk}/suggestion/accept", body, HTTP_IDEMPOTENCY_KEY="accept-0001")
    assert r.status_code == 200, r.content
    answer = r.json()
    assert (answer["status"], answer["created"]) == ("ordered", True)
    order = SalesOrder.objects.get()
    assert answer["order_id"] == order.pk
    assert list(OrderLine.objects.filter(order=order).order_by("line_no").values_list("sku__code", "quantity")) == [
        ("COLA", 3),
        ("TEA", 2),
    ]
    r = send(c, "post", f"{API}/visits/{visit.pk}/suggestion/accept", body, HTTP_IDEMPOTENCY_KEY="accept-0001")
    assert r.status_code == 200
    assert r["Idempotent-Replayed"] == "true"
    assert r.json()["order_id"] == order.pk
    r = send(c, "post", f"{API}/visits/{visit.pk}/suggestion/accept", body)  # a second tap without a key
    assert r.json()["order_id"] == order.pk
    assert SalesOrder.objects.count() == 1
    r = send(c, "post", f"{API}/visits/{visit.pk}/suggestion/accept", {"quantities": [{"sku": "COLA", "quantity": -1}]})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "quantities.COLA", "message": "COLA 的确认数量不能为负数"}]
    assert list(OrderLine.objects.filter(order=order).values_list("quantity", flat=True).order_by("line_no")) == [3, 2]


def test_competitor_note_api_with_retry(client_for, rep, visit):
    c = client_for(rep)
    body = {"brand_name": "竞品丙", "product": "丙茶", "price": "2.80", "promotion": "第二件半价"}
    r = send(c, "post", f"{API}/visits/{visit.pk}/competitor-notes", body, HTTP_IDEMPOTENCY_KEY="note-000001")
    assert r.status_code == 201, r.content
    first = r.json()
    assert (first["brand_name"], first["price"], first["seen_on"]) == ("竞品丙", "2.80", DAY.isoformat())
    r = send(c, "post", f"{API}/visits/{visit.pk}/competitor-notes", body, HTTP_IDEMPOTENCY_KEY="note-000001")
    assert (r.status_code, r["Idempotent-Replayed"], r.json()["id"]) == (201, "true", first["id"])
    r = send(
        c,
        "post",
        f"{API}/visits/{visit.pk}/competitor-notes",
        {**body, "price": "1"},
        HTTP_IDEMPOTENCY_KEY="note-000001",
    )
    assert (r.status_code, r.json()["code"]) == (409, "idempotency_key_reused")
    r = send(c, "post", f"{API}/visits/{visit.pk}/competitor-notes", {"price": "-2"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"brand", "price"}
    assert CompetitorNote.objects.count() == 1
    assert VisitStep.objects.get(visit=visit, kind="competitor").data["notes"] == 1
    assert [n["id"] for n in c.get(f"{API}/visits/{visit.pk}/competitor-notes").json()] == [first["id"]]


def test_stock_sheet_api(client_for, rep, visit, history):
    record_today(rep, visit)
    r = client_for(rep).get(f"{API}/accounts/{visit.account_id}/stock-sheet?visits=2")
    assert r.status_code == 200
    data = r.json()
    assert data["days"] == [DAY.isoformat(), "2026-11-20"]
    cola_row = next(row for row in data["rows"] if row["sku_code"] == "COLA")
    assert [(e["day"], e["stock"], e["received"], e["sold"]) for e in cola_row["entries"]] == [
        (DAY.isoformat(), 20, 48, 36)
    ]


def test_distribution_api(client_for, rep, outsider, org, visit, history, cola):
    record_today(rep, visit)
    url = f"{API}/distribution?org_unit={org.shanghai.pk}&sku=COLA&window_days=30&on={DAY.isoformat()}"
    data = client_for(rep).get(url).json()
    assert (data["start"], data["outlets"], data["outlets_counted"]) == ("2026-11-01", 1, 1)
    assert [
        (r["sku_code"], r["outlets_in_stock"], r["numeric_percent"], r["weighted_percent"]) for r in data["rows"]
    ] == [("COLA", 1, "100.0", "100.0")]
    assert "数值铺货率" in data["numeric_definition"]
    other = client_for(outsider).get(url).json()
    assert (other["outlets"], other["rows"][0]["numeric_percent"]) == (0, None)
    r = client_for(rep).get(f"{API}/distribution?sku=NOPE")
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "sku")
    assert dt.date.fromisoformat(data["end"]) == DAY
