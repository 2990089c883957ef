"""The visits API: scoped lists with filters, detail, the create-like calls with
Idempotency-Key, problem details for bad input, the outsider."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from jinggeng.core.models import AuditLog
from jinggeng.field.models import Visit, VisitFlag, VisitPhoto, VisitStatus, VisitStep
from jinggeng.field.services.visits import visit_check_in, visit_check_out, visit_photo_add
from jinggeng.field.tests.factories_visits import (
    OUTLET_LAT,
    image_bytes,
    minutes_ago,
    outlet,
    position,
    standard,
    upload,
    visit_today,
)

API = "/api/v1/field/visits"


def post(client, url, data=None, **headers):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json", **headers)


@pytest.fixture(autouse=True)
def _field_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FIELD_WORK_START = "00:00"
    settings.FIELD_WORK_END = "23:59"
    settings.FIELD_PHOTO_MAX_BYTES = 64 * 1024


@pytest.fixture
def std(db):
    return standard(required_steps=["card"])


@pytest.fixture
def shop(rep):
    return outlet(rep, name="张三的便利店")


@pytest.fixture
def visit(rep, shop, std):
    return visit_today(rep, shop, std=std)


@pytest.mark.django_db
def test_rep_does_a_whole_visit_through_the_api(rep, visit, client_for):
    client = client_for(rep)
    t0 = timezone.now()
    body = position(lat=OUTLET_LAT + Decimal("0.002"), accuracy=20, device_at=t0 - dt.timedelta(minutes=30))
    r = post(client, f"{API}/{visit.pk}/check-in", body, HTTP_IDEMPOTENCY_KEY="api-checkin-001")
    assert r.status_code == 200, r.content
    data = r.json()
    assert (data["status"], data["check_in_distance_m"], data["flags"]) == ("in_progress", 222.4, ["far_check_in"])
    assert data["flag_details"][0]["detail"] == {"distance_m": 222.4, "max_distance_m": 200.0}
    assert data["missing_steps"] == ["card"]
    again = post(client, f"{API}/{visit.pk}/check-in", body, HTTP_IDEMPOTENCY_KEY="api-checkin-001")
    assert (again.status_code, again["Idempotent-Replayed"], again.json()["version"]) == (200, "true", 2)

    r = post(client, f"{API}/{visit.pk}/steps", {"kind": "card"}, HTTP_IDEMPOTENCY_KEY="api-step-0001")
    assert r.status_code == 201 and r.json()["label"] == "查看客户卡"
    r = post(
        client,
        f"{API}/{visit.pk}/steps",
        {"kind": "posm", "data": {"checks": {"poster": True}}},
        HTTP_IDEMPOTENCY_KEY="api-step-0002",
    )
    assert r.json()["data"] == {"checks": {"poster": True}}

    content = image_bytes("PNG")
    r = client.post(
        f"{API}/{visit.pk}/photos",
        {"file": upload(content), "kind": "posm"},
        HTTP_IDEMPOTENCY_KEY="api-photo-0001",
    )
    assert r.status_code == 201, r.content
    photo = r.json()
    assert (photo["kind"], photo["width"], photo["height"], photo["reused_from_id"]) == ("posm", 4, 3, None)
    assert photo["url"] == f"/field/photos/{photo['id']}/"
    served = client.get(photo["url"])
    assert (served.status_code, served["Content-Type"], b"".join(served.streaming_content)) == (
        200,
        "image/png",
        content,
    )
    r = client.post(
        f"{API}/{visit.pk}/photos", {"file": upload(content), "kind": "posm"}, HTTP_IDEMPOTENCY_KEY="api-photo-0001"
    )
    assert (r.status_code, r["Idempotent-Replayed"], r.json()["id"]) == (201, "true", photo["id"])

    r = post(client, f"{API}/{visit.pk}/complete")
    assert (r.status_code, r.json()["code"]) == (409, "not_checked_out")
    r = post(client, f"{API}/{visit.pk}/check-out", position(device_at=t0 - dt.timedelta(minutes=5)))
    assert r.status_code == 200 and r.json()["duration_seconds"] == 1500
    r = post(client, f"{API}/{visit.pk}/complete")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["actual_position"]) == ("completed", 1)

    detail = client.get(f"{API}/{visit.pk}").json()
    assert [s["kind"] for s in detail["steps"]] == ["card", "posm"]
    assert len(detail["photos"]) == 1
    assert [c["kind"] for c in detail["checklist"] if c["required"]] == ["card"]
    assert VisitPhoto.objects.count() == 1 and VisitStep.objects.count() == 2


@pytest.mark.django_db
def test_complete_with_missing_steps_names_them(rep, visit, client_for):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(20)))
    visit_check_out(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(1)))
    r = post(client_for(rep), f"{API}/{visit.pk}/complete")
    assert r.status_code == 422
    body = r.json()
    assert (body["code"], body["missing_steps"]) == ("steps_missing", ["card"])
    assert body["errors"] == [{"field": "steps", "message": "查看客户卡"}]
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.IN_PROGRESS


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["latitude", "longitude"]),
        ({"latitude": 95, "longitude": 121}, ["latitude"]),
        ({"latitude": 0, "longitude": 0}, ["latitude", "longitude"]),
        ({"latitude": 31, "longitude": 121, "accuracy_m": 20000}, ["accuracy_m"]),
        ({"latitude": "north", "longitude": 121}, ["latitude"]),
    ],
)
def test_bad_positions_answer_422_naming_the_field(rep, visit, client_for, body, fields):
    r = post(client_for(rep), f"{API}/{visit.pk}/check-in", body)
    assert r.status_code == 422
    assert sorted({e["field"] for e in r.json()["errors"]}) == fields
    assert Visit.objects.get(pk=visit.pk).version == 1


@pytest.mark.django_db
def test_bad_photos_answer_422(rep, visit, client_for):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position())
    client = client_for(rep)
    r = client.post(f"{API}/{visit.pk}/photos", {"file": upload(b"not an image at all", "x.jpg")})
    assert (r.status_code, r.json()["code"]) == (422, "not_an_image")
    big = image_bytes("PNG", size=(300, 300)) + b"\0" * (70 * 1024)
    r = client.post(f"{API}/{visit.pk}/photos", {"file": upload(big)})
    assert (r.status_code, r.json()["code"]) == (422, "file_too_large")
    r = client.post(f"{API}/{visit.pk}/photos", {"kind": "shelf"})
    assert r.status_code == 422
    assert VisitPhoto.objects.count() == 0


@pytest.mark.django_db
def test_check_out_before_check_in_is_409(rep, visit, client_for):
    r = post(client_for(rep), f"{API}/{visit.pk}/check-out", position())
    assert (r.status_code, r.json()["code"]) == (409, "not_checked_in")


@pytest.mark.django_db
def test_ad_hoc_visit_and_its_replay(rep, shop, std, client_for):
    client = client_for(rep)
    r = post(client, API, {"account_id": shop.pk, "notes": "顺路"}, HTTP_IDEMPOTENCY_KEY="api-adhoc-0001")
    assert r.status_code == 201, r.content
    assert (r.json()["kind"], r.json()["status"], r.json()["standard_id"]) == ("ad_hoc", "planned", std.pk)
    again = post(client, API, {"account_id": shop.pk, "notes": "顺路"}, HTTP_IDEMPOTENCY_KEY="api-adhoc-0001")
    assert (again.status_code, again["Idempotent-Replayed"], again.json()["id"]) == (201, "true", r.json()["id"])
    other = post(client, API, {"account_id": shop.pk, "notes": "另一次"}, HTTP_IDEMPOTENCY_KEY="api-adhoc-0001")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    dup = post(client, API, {"account_id": shop.pk})
    assert (dup.status_code, dup.json()["code"], dup.json()["visit_id"]) == (409, "visit_exists", r.json()["id"])
    assert Visit.objects.count() == 1


@pytest.mark.django_db
def test_list_filters_and_today(rep, teammate, area_manager, shop, std, client_for, django_assert_max_num_queries):
    mine = visit_today(rep, shop, std=std)
    flagged = visit_today(rep, outlet(rep), std=std, planned_position=2)
    VisitFlag.objects.create(visit=flagged, code="far_check_in", detail={"distance_m": 300})
    Visit.objects.filter(pk=flagged.pk).update(flag_count=1)
    old = visit_today(rep, outlet(rep), std=std, visit_date=timezone.localdate().replace(day=1), planned_position=1)
    if old.visit_date == mine.visit_date:
        old.visit_date = old.visit_date.replace(year=old.visit_date.year - 1)
        old.save()
    theirs = visit_today(teammate, outlet(teammate), std=std)
    adhoc = visit_today(rep, outlet(rep), std=std, kind="ad_hoc", planned_position=None)

    client = client_for(area_manager)
    with django_assert_max_num_queries(10):  # session, user, permissions, scope: 7; visits, flags
        r = client.get(API)
    assert r.status_code == 200
    ids = [v["id"] for v in r.json()["items"]]
    assert set(ids) == {mine.pk, flagged.pk, old.pk, theirs.pk, adhoc.pk}
    assert ids[-1] == old.pk
    assert [v["id"] for v in client.get(API, {"rep": teammate.pk}).json()["items"]] == [theirs.pk]
    assert [v["id"] for v in client.get(API, {"flag": "far_check_in"}).json()["items"]] == [flagged.pk]
    assert [v["id"] for v in client.get(API, {"flagged": "true"}).json()["items"]] == [flagged.pk]
    assert [v["id"] for v in client.get(API, {"day": old.visit_date.isoformat()}).json()["items"]] == [old.pk]
    assert client.get(API, {"status": "nonsense"}).status_code == 422
    assert client.get(API, {"flag": "nonsense"}).status_code == 422
    page = client.get(API, {"limit": 2}).json()
    second = client.get(API, {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(page["items"]) == 2 and not {v["id"] for v in page["items"]} & {v["id"] for v in second["items"]}

    rep_client = client_for(rep)
    assert {v["id"] for v in rep_client.get(API).json()["items"]} == {mine.pk, flagged.pk, old.pk, adhoc.pk}
    today = rep_client.get(f"{API}/today").json()
    assert [v["id"] for v in today] == [mine.pk, flagged.pk, adhoc.pk]
    assert today[1]["flags"] == ["far_check_in"]


@pytest.mark.django_db
def test_outsider_sees_nothing_and_changes_nothing(rep, outsider, visit, shop, client_for):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(10)))
    visit.refresh_from_db()
    logs = AuditLog.objects.count()
    client = client_for(outsider)
    assert client.get(API).json() == {"items": [], "next_cursor": None}
    assert client.get(f"{API}/{visit.pk}").status_code == 404
    assert client.get(f"{API}/today").json() == []
    for url, body in (
        (f"{API}/{visit.pk}/check-in", position()),
        (f"{API}/{visit.pk}/check-out", position()),
        (f"{API}/{visit.pk}/steps", {"kind": "card"}),
        (f"{API}/{visit.pk}/complete", {}),
        (API, {"account_id": shop.pk}),
    ):
        r = post(client, url, body, HTTP_IDEMPOTENCY_KEY="outsider-key-01")
        assert (r.status_code, r.json()["code"]) == (404, "not_found"), url
    r = client.post(f"{API}/{visit.pk}/photos", {"file": upload(image_bytes())})
    assert r.status_code == 404
    after = Visit.objects.get(pk=visit.pk)
    assert (after.version, after.status, after.check_out_at) == (visit.version, visit.status, None)
    assert Visit.objects.count() == 1
    assert (VisitStep.objects.count(), VisitPhoto.objects.count()) == (0, 0)
    assert AuditLog.objects.count() == logs
    # the rep's photo file is not served to the outsider
    photo, _ = visit_photo_add(actor=rep, visit_id=visit.pk, upload=upload(image_bytes("PNG", color=(1, 2, 3))))
    assert client.get(f"/field/photos/{photo.pk}/").status_code == 404
    assert client_for(rep).get(f"/field/photos/{photo.pk}/").status_code == 200


@pytest.mark.django_db
def test_manager_reads_but_does_not_do_the_visit(rep, area_manager, visit, client_for):
    client = client_for(area_manager)
    assert client.get(f"{API}/{visit.pk}").json()["id"] == visit.pk
    r = post(client, f"{API}/{visit.pk}/check-in", position())
    assert (r.status_code, r.json()["code"]) == (403, "not_visit_rep")
    assert Visit.objects.get(pk=visit.pk).version == 1
