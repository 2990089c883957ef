"""Visit services: check-in, check-out, steps, photos, completion, ad-hoc visits; flags, scope,
permissions, bad input (nothing partial saved) and idempotency."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.utils import timezone

from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.field.models import (
    OutletCoverage,
    Visit,
    VisitFlag,
    VisitKind,
    VisitPhoto,
    VisitRequest,
    VisitStatus,
    VisitStep,
)
from jinggeng.field.services.visits import (
    visit_check_in,
    visit_check_out,
    visit_complete,
    visit_create_ad_hoc,
    visit_photo_add,
    visit_step_record,
)
from jinggeng.field.tests.factories_visits import (
    OUTLET_LAT,
    OUTLET_LNG,
    image_bytes,
    minutes_ago,
    outlet,
    position,
    standard,
    upload,
    visit_today,
)


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture(autouse=True)
def _field_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FIELD_CHECKIN_MAX_DISTANCE_M = 200
    settings.FIELD_WORK_START = "00:00"
    settings.FIELD_WORK_END = "23:59"
    settings.FIELD_MAX_SPEED_KMH = 80
    settings.FIELD_MAX_ACCURACY_M = 100
    settings.FIELD_PHOTO_MAX_BYTES = 64 * 1024


@pytest.fixture
def restored_defaults(transactional_db):
    """Transactional tests run after others may have flushed the database: put back the roles,
    permissions and the division the accounts use (as the orders tests do). Idempotent."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    from jinggeng.field.roles import grant_field_permissions
    from jinggeng.org.models import Division
    from jinggeng.org.roles import ensure_default_roles

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    ensure_default_roles()
    grant_field_permissions()
    Division.objects.get_or_create(
        code="310115", defaults={"name": "浦东新区", "level": "county", "full_name": "上海市浦东新区"}
    )


@pytest.fixture
def std(db):
    return standard()


@pytest.fixture
def shop(rep):
    return outlet(rep, name="张三的便利店")


@pytest.fixture
def visit(rep, shop, std):
    return visit_today(rep, shop, std=std)


def checked_in(rep, visit, minutes=30):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(minutes)))
    visit.refresh_from_db()
    return visit


def flags(visit):
    return {f.code: f.detail for f in VisitFlag.objects.filter(visit=visit)}


# --------------------------------------------------------------------------- check-in


@pytest.mark.django_db
def test_check_in_records_position_distance_and_server_time(rep, visit):
    device_at = minutes_ago(2)
    before = timezone.now()
    result, created = visit_check_in(
        actor=rep, visit_id=visit.pk, data=position(lat="31.2314", lng=OUTLET_LNG, accuracy=15, device_at=device_at)
    )
    assert (result.pk, created) == (visit.pk, True)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.IN_PROGRESS
    assert (visit.check_in_latitude, visit.check_in_longitude) == (Decimal("31.231400"), OUTLET_LNG)
    assert visit.check_in_accuracy_m == 15.0
    assert visit.check_in_distance_m == 111.2  # 0.001° of latitude
    assert visit.check_in_device_at == device_at
    assert visit.check_in_at >= before
    assert (visit.flag_count, visit.version) == (0, 2)
    assert flags(visit) == {}
    log = AuditLog.objects.get(entity="field.visit", entity_id=str(visit.pk))
    assert log.changes["status"] == ["planned", "in_progress"]


@pytest.mark.django_db
def test_check_in_far_away_with_poor_accuracy_raises_two_flags(rep, visit):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(lat=OUTLET_LAT + Decimal("0.002"), accuracy=150))
    visit.refresh_from_db()
    assert visit.check_in_distance_m == 222.4
    assert flags(visit) == {
        "far_check_in": {"distance_m": 222.4, "max_distance_m": 200.0},
        "poor_accuracy": {"accuracy_m": 150.0, "max_accuracy_m": 100.0},
    }
    assert visit.flag_count == 2


@pytest.mark.django_db
def test_check_in_at_an_outlet_without_position(rep, std):
    shop = outlet(rep, latitude=None, longitude=None)
    visit = visit_today(rep, shop, std=std)
    visit_check_in(actor=rep, visit_id=visit.pk, data=position())
    visit.refresh_from_db()
    assert visit.check_in_distance_m is None
    assert flags(visit) == {"no_position": {}}


@pytest.mark.django_db
def test_check_in_outside_working_hours(settings, rep, visit):
    device_at = timezone.localtime(minutes_ago(1))
    settings.FIELD_WORK_START = (device_at + dt.timedelta(hours=1)).strftime("%H:%M")
    settings.FIELD_WORK_END = (device_at + dt.timedelta(hours=2)).strftime("%H:%M")
    if settings.FIELD_WORK_END < settings.FIELD_WORK_START:  # near midnight: a window before now instead
        settings.FIELD_WORK_START, settings.FIELD_WORK_END = "00:00", "00:00"
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=device_at))
    detail = flags(Visit.objects.get(pk=visit.pk))["outside_hours"]
    assert detail["check_in_local"] == device_at.strftime("%H:%M")


@pytest.mark.django_db
def test_impossible_travel_from_the_previous_visit(rep, visit, std):
    far_shop = outlet(rep, latitude=OUTLET_LAT + Decimal("0.1"), longitude=OUTLET_LNG)
    first = visit_today(rep, far_shop, std=std, planned_position=2)
    visit_check_in(actor=rep, visit_id=first.pk, data=position(lat=far_shop.latitude, device_at=minutes_ago(20)))
    visit_check_out(actor=rep, visit_id=first.pk, data=position(lat=far_shop.latitude, device_at=minutes_ago(10)))
    # 11 119.5 m in 5 minutes: 133.4 km/h
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(5)))
    detail = flags(visit)["impossible_travel"]
    assert detail == {
        "distance_m": 11119.5,
        "minutes": 5.0,
        "speed_kmh": 133.4,
        "max_speed_kmh": 80.0,
        "previous_visit_id": first.pk,
    }


@pytest.mark.django_db
def test_travel_at_a_possible_speed_is_not_flagged(rep, visit, std):
    far_shop = outlet(rep, latitude=OUTLET_LAT + Decimal("0.1"), longitude=OUTLET_LNG)
    first = visit_today(rep, far_shop, std=std, planned_position=2)
    visit_check_in(actor=rep, visit_id=first.pk, data=position(lat=far_shop.latitude, device_at=minutes_ago(60)))
    visit_check_out(actor=rep, visit_id=first.pk, data=position(lat=far_shop.latitude, device_at=minutes_ago(30)))
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(5)))  # 26.7 km/h
    assert flags(visit) == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({}, {"latitude", "longitude"}),
        ({"latitude": "91", "longitude": "121"}, {"latitude"}),
        ({"latitude": "31", "longitude": "-180.5"}, {"longitude"}),
        ({"latitude": "abc", "longitude": "121"}, {"latitude"}),
        ({"latitude": "0", "longitude": "0"}, {"latitude", "longitude"}),
        ({"latitude": "31", "longitude": "121", "accuracy_m": -3}, {"accuracy_m"}),
        ({"latitude": "31", "longitude": "121", "accuracy_m": 10001}, {"accuracy_m"}),
        ({"latitude": "31", "longitude": "121", "device_at": "yesterday"}, {"device_at"}),
    ],
)
def test_bad_positions_are_refused_and_nothing_changes(rep, visit, data, errors):
    logs = AuditLog.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        visit_check_in(actor=rep, visit_id=visit.pk, data=data, idempotency_key="bad-input-0001")
    assert set(exc.value.field_errors) == errors
    visit.refresh_from_db()
    assert (visit.status, visit.check_in_at, visit.version) == (VisitStatus.PLANNED, None, 1)
    assert AuditLog.objects.count() == logs
    assert VisitRequest.objects.count() == 0


@pytest.mark.django_db
def test_check_in_twice_without_key_is_a_conflict(rep, visit):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position())
    with pytest.raises(Conflict) as exc:
        visit_check_in(actor=rep, visit_id=visit.pk, data=position())
    assert exc.value.code == "already_checked_in"


@pytest.mark.django_db
def test_future_visit_cannot_be_checked_in(rep, shop, std):
    visit = visit_today(rep, shop, std=std, visit_date=timezone.localdate() + dt.timedelta(days=1))
    with pytest.raises(ValidationFailed) as exc:
        visit_check_in(actor=rep, visit_id=visit.pk, data=position())
    assert exc.value.code == "not_today"
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.PLANNED


@pytest.mark.django_db
def test_outsider_teammate_and_manager_cannot_check_in(rep, teammate, area_manager, outsider, visit):
    logs = AuditLog.objects.count()
    with pytest.raises(NotFound):
        visit_check_in(actor=outsider, visit_id=visit.pk, data=position())
    with pytest.raises(NotFound):  # a teammate's scope is their own records
        visit_check_in(actor=teammate, visit_id=visit.pk, data=position())
    with pytest.raises(PermissionDenied) as exc:  # in scope, but not their visit
        visit_check_in(actor=area_manager, visit_id=visit.pk, data=position())
    assert exc.value.code == "not_visit_rep"
    with pytest.raises(NotFound):
        visit_check_in(actor=rep, visit_id=visit.pk + 999, data=position())
    visit.refresh_from_db()
    assert (visit.status, visit.version) == (VisitStatus.PLANNED, 1)
    assert AuditLog.objects.count() == logs


@pytest.mark.django_db
def test_without_the_permission_it_is_403(rep, visit):
    from django.contrib.auth.models import Permission

    rep.groups.first().permissions.remove(Permission.objects.get(codename="change_visit"))
    with pytest.raises(PermissionDenied):
        visit_check_in(actor=fresh(rep), visit_id=visit.pk, data=position())
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.PLANNED


# --------------------------------------------------------------------------- check-out


@pytest.mark.django_db
def test_check_out_records_duration_and_short_visit(rep, visit):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(4)))
    visit_check_out(actor=rep, visit_id=visit.pk, data=position(accuracy=130, device_at=minutes_ago(1)))
    visit.refresh_from_db()
    assert visit.duration_seconds == 180
    assert visit.check_out_latitude == OUTLET_LAT
    assert flags(visit) == {
        "short_visit": {"minutes": 3.0, "min_minutes": 5.0},
        "poor_accuracy": {"check_out_accuracy_m": 130.0, "max_accuracy_m": 100.0},
    }
    assert (visit.flag_count, visit.version) == (2, 3)


@pytest.mark.django_db
def test_poor_accuracy_at_both_ends_is_one_flag_with_both_figures(rep, visit):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(accuracy=120, device_at=minutes_ago(20)))
    visit_check_out(actor=rep, visit_id=visit.pk, data=position(accuracy=140, device_at=minutes_ago(1)))
    assert flags(visit)["poor_accuracy"] == {
        "accuracy_m": 120.0,
        "check_out_accuracy_m": 140.0,
        "max_accuracy_m": 100.0,
    }
    assert Visit.objects.get(pk=visit.pk).flag_count == 1


@pytest.mark.django_db
def test_check_out_before_check_in_is_refused(rep, visit):
    with pytest.raises(Conflict) as exc:
        visit_check_out(actor=rep, visit_id=visit.pk, data=position())
    assert exc.value.code == "not_checked_in"
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(10)))
    with pytest.raises(ValidationFailed) as exc2:
        visit_check_out(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(20)))
    assert exc2.value.code == "check_out_before_check_in"
    visit.refresh_from_db()
    assert (visit.check_out_at, visit.duration_seconds, visit.version) == (None, None, 2)


# --------------------------------------------------------------------------- steps


@pytest.mark.django_db
def test_steps_are_recorded_and_replaced(rep, visit):
    checked_in(rep, visit)
    step, created = visit_step_record(
        actor=rep, visit_id=visit.pk, kind="posm", data={"checks": {"poster": True, "price_tag": False}}
    )
    assert created is True
    assert step.data == {"checks": {"poster": True, "price_tag": False}}
    again, created = visit_step_record(actor=rep, visit_id=visit.pk, kind="posm", data={"checks": {"poster": False}})
    assert (again.pk, created, again.data) == (step.pk, True, {"checks": {"poster": False}})
    assert VisitStep.objects.filter(visit=visit).count() == 1
    visit_step_record(actor=rep, visit_id=visit.pk, kind="shelf", data={"tidied": True})
    assert Visit.objects.get(pk=visit.pk).version == 5
    assert AuditLog.objects.filter(entity="field.visitstep").count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("dance", {}, "kind"),
        ("posm", {"checks": {"balloon": True}}, "data.checks"),
        ("posm", {"checks": {"poster": "yes"}}, "data.checks"),
        ("posm", [1, 2], "data"),
        ("shelf", {"facings": 3}, "data"),
        ("competitor", {"text": "x" * 5000}, "data"),
    ],
)
def test_bad_steps_are_refused(rep, visit, kind, data, field):
    checked_in(rep, visit)
    with pytest.raises(ValidationFailed) as exc:
        visit_step_record(actor=rep, visit_id=visit.pk, kind=kind, data=data)
    assert list(exc.value.field_errors) == [field]
    assert VisitStep.objects.count() == 0


@pytest.mark.django_db
def test_steps_need_a_checked_in_visit(rep, visit):
    with pytest.raises(Conflict) as exc:
        visit_step_record(actor=rep, visit_id=visit.pk, kind="card")
    assert exc.value.code == "visit_not_in_progress"
    assert VisitStep.objects.count() == 0


# --------------------------------------------------------------------------- photos


@pytest.mark.django_db
def test_photo_is_stored_hashed_and_measured(rep, visit):
    checked_in(rep, visit)
    content = image_bytes("JPEG", size=(8, 6))
    photo, created = visit_photo_add(actor=rep, visit_id=visit.pk, upload=upload(content, "a.jpg"), kind="storefront")
    assert created is True
    import hashlib

    assert photo.sha256 == hashlib.sha256(content).hexdigest()
    assert (photo.width, photo.height, photo.size, photo.content_type) == (8, 6, len(content), "image/jpeg")
    assert photo.file.name.startswith("visits/") and photo.file.name.endswith(".jpg")
    with photo.file.open("rb") as stored:
        assert stored.read() == content
    assert photo.reused_from is None
    # the same picture sent again to the same visit is stored once
    again, created = visit_photo_add(actor=rep, visit_id=visit.pk, upload=upload(content, "b.jpg"))
    assert (again.pk, created) == (photo.pk, False)
    assert VisitPhoto.objects.count() == 1


@pytest.mark.django_db
def test_photo_used_at_another_visit_is_flagged(rep, shop, std, visit):
    other = visit_today(rep, outlet(rep), std=std, planned_position=2)
    checked_in(rep, other, minutes=50)
    content = image_bytes("PNG")
    first, _ = visit_photo_add(actor=rep, visit_id=other.pk, upload=upload(content))
    visit_check_out(actor=rep, visit_id=other.pk, data=position(device_at=minutes_ago(40)))
    checked_in(rep, visit, minutes=30)
    second, _ = visit_photo_add(actor=rep, visit_id=visit.pk, upload=upload(content, "again.png"))
    assert second.reused_from_id == first.pk
    assert flags(visit)["reused_photo"] == {
        "photo_id": second.pk,
        "original_photo_id": first.pk,
        "original_visit_id": other.pk,
        "sha256": first.sha256,
    }
    assert Visit.objects.get(pk=visit.pk).flag_count == 1
    assert flags(other) == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"%PDF-1.4 not a picture", "not_an_image"),
        (image_bytes("PNG")[:30], "not_an_image"),
        (image_bytes("GIF"), "not_an_image"),
        (image_bytes("PNG", size=(400, 400)) + b"\0" * 70_000, "file_too_large"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_stored(rep, visit, settings, tmp_path, content, code):
    checked_in(rep, visit)
    logs = AuditLog.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        visit_photo_add(actor=rep, visit_id=visit.pk, upload=upload(content), idempotency_key="photo-bad-1")
    assert exc.value.code == code
    assert list(exc.value.field_errors) == ["file"]
    assert VisitPhoto.objects.count() == 0
    assert VisitRequest.objects.count() == 0
    assert AuditLog.objects.count() == logs
    media = tmp_path / "media"
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.django_db
def test_a_failed_photo_save_leaves_no_file(rep, visit, tmp_path, monkeypatch):
    """A database failure after the file was stored takes the file away again."""
    checked_in(rep, visit)
    from jinggeng.field.services import visits as service

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(service, "audit_record", broken)
    with pytest.raises(RuntimeError):
        visit_photo_add(actor=rep, visit_id=visit.pk, upload=upload(image_bytes()))
    assert VisitPhoto.objects.count() == 0
    assert not any(p.is_file() for p in (tmp_path / "media").rglob("*"))


# --------------------------------------------------------------------------- completion


@pytest.mark.django_db
def test_complete_refuses_missing_required_steps_then_completes(rep, visit, shop):
    OutletCoverage.objects.create(
        account=shop, rep=rep, org_unit=rep.employee.org_unit, cycle_days=7, due_on=timezone.localdate()
    )
    checked_in(rep, visit)
    visit_step_record(actor=rep, visit_id=visit.pk, kind="card")
    visit_check_out(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(1)))
    with pytest.raises(ValidationFailed) as exc:
        visit_complete(actor=rep, visit_id=visit.pk)
    assert exc.value.code == "steps_missing"
    assert exc.value.field_errors == {"steps": ["盘点库存", "致谢道别"]}
    assert exc.value.extra == {"missing_steps": ["stock", "farewell"]}
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.IN_PROGRESS
    # the stock part writes the STOCK step row when stock is counted
    VisitStep.objects.create(visit=visit, kind="stock", done_at=timezone.now())
    visit_step_record(actor=rep, visit_id=visit.pk, kind="farewell")
    done = visit_complete(actor=rep, visit_id=visit.pk)
    assert (done.status, done.actual_position) == (VisitStatus.COMPLETED, 1)
    coverage = OutletCoverage.objects.get(account=shop)
    assert coverage.last_visited_on == visit.visit_date
    assert coverage.due_on == visit.visit_date + dt.timedelta(days=7)
    # completing again changes nothing
    assert visit_complete(actor=rep, visit_id=visit.pk).version == done.version


@pytest.mark.django_db
def test_complete_needs_check_out_and_counts_the_order_of_the_day(rep, std):
    shops = [outlet(rep) for _ in range(2)]
    second_planned = visit_today(rep, shops[0], std=standard(required_steps=[]), planned_position=1)
    first_planned = visit_today(rep, shops[1], std=standard(required_steps=[]), planned_position=2)
    checked_in(rep, first_planned, minutes=40)
    with pytest.raises(Conflict) as exc:
        visit_complete(actor=rep, visit_id=first_planned.pk)
    assert exc.value.code == "not_checked_out"
    visit_check_out(actor=rep, visit_id=first_planned.pk, data=position(device_at=minutes_ago(30)))
    assert visit_complete(actor=rep, visit_id=first_planned.pk).actual_position == 1
    checked_in(rep, second_planned, minutes=20)
    visit_check_out(actor=rep, visit_id=second_planned.pk, data=position(device_at=minutes_ago(5)))
    assert visit_complete(actor=rep, visit_id=second_planned.pk).actual_position == 2
    with pytest.raises(Conflict):
        visit_complete(actor=rep, visit_id=visit_today(rep, shops[0]).pk)


@pytest.mark.django_db
def test_complete_with_a_stale_version_is_a_conflict(rep, visit):
    checked_in(rep, visit)
    with pytest.raises(Conflict) as exc:
        visit_complete(actor=rep, visit_id=visit.pk, expected_version=1)
    assert exc.value.code == "version_conflict"


# --------------------------------------------------------------------------- ad hoc


@pytest.mark.django_db
def test_ad_hoc_visit_for_an_outlet_in_scope(rep, shop, std):
    visit, created = visit_create_ad_hoc(actor=rep, account_id=shop.pk, notes=" 顺路 ")
    assert created is True
    assert (visit.kind, visit.status, visit.visit_date) == (VisitKind.AD_HOC, VisitStatus.PLANNED, timezone.localdate())
    assert (visit.rep_id, visit.org_unit_id, visit.standard_id, visit.notes) == (
        rep.pk,
        rep.employee.org_unit_id,
        std.pk,
        "顺路",
    )
    with pytest.raises(Conflict) as exc:
        visit_create_ad_hoc(actor=rep, account_id=shop.pk)
    assert exc.value.code == "visit_exists"
    assert exc.value.extra == {"visit_id": visit.pk}
    assert AuditLog.objects.filter(entity="field.visit", action="create").count() == 1


@pytest.mark.django_db
def test_ad_hoc_visit_outside_scope_is_404_and_nothing_saved(rep, outsider):
    far = outlet(outsider, name="北京某商店", division_id="110105")
    logs = AuditLog.objects.count()
    with pytest.raises(NotFound):
        visit_create_ad_hoc(actor=rep, account_id=far.pk, idempotency_key="adhoc-outside-1")
    with pytest.raises(NotFound):
        visit_create_ad_hoc(actor=rep, account_id=999999)
    with pytest.raises(ValidationFailed):
        visit_create_ad_hoc(actor=rep, account_id="abc")
    assert Visit.objects.count() == 0
    assert VisitRequest.objects.count() == 0
    assert AuditLog.objects.count() == logs


# --------------------------------------------------------------------------- idempotency


@pytest.mark.django_db
def test_retried_requests_answer_with_the_first_result(rep, shop, std):
    visit, created = visit_create_ad_hoc(actor=rep, account_id=shop.pk, idempotency_key="adhoc-key-0001")
    again, created_again = visit_create_ad_hoc(actor=rep, account_id=shop.pk, idempotency_key="adhoc-key-0001")
    assert (again.pk, created, created_again) == (visit.pk, True, False)

    data = position(device_at=minutes_ago(20))
    visit_check_in(actor=rep, visit_id=visit.pk, data=data, idempotency_key="checkin-key-01")
    replay, created = visit_check_in(actor=rep, visit_id=visit.pk, data=data, idempotency_key="checkin-key-01")
    assert (replay.pk, created, replay.version) == (visit.pk, False, 2)

    step, _ = visit_step_record(actor=rep, visit_id=visit.pk, kind="card", idempotency_key="step-key-0001")
    step2, created = visit_step_record(actor=rep, visit_id=visit.pk, kind="card", idempotency_key="step-key-0001")
    assert (step2.pk, created) == (step.pk, False)

    content = image_bytes()
    photo, _ = visit_photo_add(actor=rep, visit_id=visit.pk, upload=upload(content), idempotency_key="photo-key-001")
    photo2, created = visit_photo_add(
        actor=rep, visit_id=visit.pk, upload=upload(content), idempotency_key="photo-key-001"
    )
    assert (photo2.pk, created) == (photo.pk, False)

    out = position(device_at=minutes_ago(1))
    visit_check_out(actor=rep, visit_id=visit.pk, data=out, idempotency_key="checkout-key-1")
    final, created = visit_check_out(actor=rep, visit_id=visit.pk, data=out, idempotency_key="checkout-key-1")
    assert created is False

    assert Visit.objects.count() == 1
    assert (VisitStep.objects.count(), VisitPhoto.objects.count(), VisitRequest.objects.count()) == (1, 1, 5)
    assert Visit.objects.get(pk=visit.pk).version == final.version == 5
    assert AuditLog.objects.filter(entity="field.visit").count() == 4  # create, check-in, photo, check-out


@pytest.mark.django_db
def test_old_request_keys_are_pruned_and_recent_ones_kept(rep, shop, std, settings):
    from io import StringIO

    from django.core.management import call_command

    from jinggeng.field.services.idempotency import requests_prune

    settings.FIELD_REQUEST_KEEP_DAYS = 30
    visit, _ = visit_create_ad_hoc(actor=rep, account_id=shop.pk, idempotency_key="adhoc-old-0001")
    data = position(device_at=minutes_ago(5))
    visit_check_in(actor=rep, visit_id=visit.pk, data=data, idempotency_key="checkin-new-01")
    VisitRequest.objects.filter(key="adhoc-old-0001").update(created_at=timezone.now() - dt.timedelta(days=31))
    VisitRequest.objects.filter(key="checkin-new-01").update(created_at=timezone.now() - dt.timedelta(days=29))

    assert requests_prune(batch=1) == 1
    assert list(VisitRequest.objects.values_list("key", flat=True)) == ["checkin-new-01"]
    assert Visit.objects.filter(pk=visit.pk).exists()  # only the key goes
    # The kept key still answers a retry with its first result.
    again, created = visit_check_in(actor=rep, visit_id=visit.pk, data=data, idempotency_key="checkin-new-01")
    assert (again.pk, created) == (visit.pk, False)
    # `jinggeng field_plan` prunes on every run.
    VisitRequest.objects.update(created_at=timezone.now() - dt.timedelta(days=40))
    out = StringIO()
    call_command("field_plan", stdout=out)
    assert "pruned_request_keys=1" in out.getvalue()
    assert VisitRequest.objects.count() == 0


@pytest.mark.django_db
def test_a_key_reused_for_another_request_is_refused(rep, visit):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(), idempotency_key="same-key-0001")
    with pytest.raises(Conflict) as exc:
        visit_step_record(actor=rep, visit_id=visit.pk, kind="card", idempotency_key="same-key-0001")
    assert exc.value.code == "idempotency_key_reused"
    with pytest.raises(ValidationFailed):
        visit_step_record(actor=rep, visit_id=visit.pk, kind="card", idempotency_key="short")
    assert VisitStep.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)")
def test_concurrent_check_in_retries_check_in_once(restored_defaults, rep, visit):
    results: list[tuple[int, bool]] = []
    errors: list[str] = []
    barrier = threading.Barrier(4)
    data = position(device_at=minutes_ago(3))

    def check_in() -> None:
        try:
            barrier.wait()
            v, created = visit_check_in(actor=fresh(rep), visit_id=visit.pk, data=data, idempotency_key="conc-in-01")
            results.append((v.version, created))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=check_in) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert Visit.objects.get(pk=visit.pk).version == 2
    assert AuditLog.objects.filter(entity="field.visit", entity_id=str(visit.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)")
def test_concurrent_ad_hoc_and_photo_retries_create_one_each(restored_defaults, rep, shop):
    outcomes: list[bool] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        try:
            barrier.wait()
            _, created = visit_create_ad_hoc(actor=fresh(rep), account_id=shop.pk, idempotency_key="conc-adhoc-1")
            outcomes.append(created)
        except BaseException as exc:  # a losing retry must answer with the winner's visit
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sorted(outcomes) == [False, False, False, True]
    visit = Visit.objects.get()
    visit_check_in(actor=fresh(rep), visit_id=visit.pk, data=position())

    photos: list[bool] = []
    content = image_bytes("WEBP")
    barrier2 = threading.Barrier(3)

    def add_photo() -> None:
        try:
            barrier2.wait()
            _, created = visit_photo_add(
                actor=fresh(rep), visit_id=visit.pk, upload=upload(content, "p.webp"), idempotency_key="conc-photo-1"
            )
            photos.append(created)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add_photo) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sorted(photos) == [False, False, True]
    assert VisitPhoto.objects.count() == 1
