"""Writes of the field app: visits (check-in, steps, photos, check-out, completion, ad hoc).

Every write finds the visit in the actor's data scope first (else `NotFound`: nothing changes,
no audit record), then checks the permission, and that the actor is the visit's rep (a
manager reads a rep's visits, only the rep does them). Input is validated before anything is
saved; each write bumps the visit's ``version`` and writes an audit record.

The five create-like calls (`visit_create_ad_hoc`, `visit_check_in`, `visit_check_out`,
`visit_step_record`, `visit_photo_add`) take an ``idempotency_key`` (the ``Idempotency-Key``
header of the API, the hidden ``idempotency_key`` field of the phone pages): the first request
with a key is remembered in `VisitRequest`; a retry with the same key and the same body
answers with the first result and changes nothing (``created`` is False); the same key with a
different body is refused (409 ``idempotency_key_reused``). They return ``(record, created)``.

Flags come from `jinggeng.field.rules`; the times those rules measure are event times (the
device's clock when plausible), so a check-in queued offline is judged by when it happened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from jinggeng.core.audit import audit_create, audit_record, audit_update, snapshot
from jinggeng.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditAction
from jinggeng.customers.access import account_scope
from jinggeng.customers.models import Account
from jinggeng.field import rules
from jinggeng.field.models import (
    OutletCoverage,
    PhotoKind,
    Visit,
    VisitFlag,
    VisitFlagCode,
    VisitKind,
    VisitPhoto,
    VisitRequest,
    VisitStandard,
    VisitStatus,
    VisitStep,
    VisitStepKind,
)
from jinggeng.field.services import idempotency
from jinggeng.field.services.routes import standard_for_account
from jinggeng.org.scope import employee_of, scope_for

T = TypeVar("T")

COORD = Decimal("0.000001")
#: POSM checks (检查海报与助销物) a POSM step records as ``{"checks": {code: true/false}}``.
POSM_CHECKS: dict[str, Any] = {
    "poster": gettext_lazy("海报"),
    "shelf_strip": gettext_lazy("货架贴"),
    "display": gettext_lazy("堆头与陈列架"),
    "price_tag": gettext_lazy("价签"),
}
#: What a SHELF step records besides the facings and prices of the stock count.
SHELF_CHECKS: dict[str, Any] = {"tidied": gettext_lazy("已理货"), "storeroom": gettext_lazy("已检查库房")}
STEP_DATA_MAX_CHARS = 4000
PHOTO_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
OPEN_STATUSES = (VisitStatus.PLANNED, VisitStatus.IN_PROGRESS)


# --------------------------------------------------------------------------- small parts


def _require(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(_("您没有执行此操作的权限"), extra={"permission": perm})


def _locked_visit(actor: Any, visit_id: Any) -> Visit:
    """The visit, locked for the rest of the transaction, when it is in the actor's scope."""
    try:
        pk = int(visit_id)
    except (TypeError, ValueError):
        raise NotFound(_("拜访不存在")) from None
    visit = Visit.objects.select_for_update().filter(pk=pk).first()
    if visit is None or not scope_for(actor).allows(owner_id=visit.rep_id, unit_id=visit.org_unit_id):
        raise NotFound(_("拜访不存在"))
    return visit


def _own_visit(actor: Any, visit_id: Any, perm: str) -> Visit:
    visit = _locked_visit(actor, visit_id)
    _require(actor, perm)
    if visit.rep_id != actor.pk:
        raise PermissionDenied(_("只有该拜访的业务员本人可以操作"), code="not_visit_rep")
    return visit


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return math.nan
    return number


def _position(data: Mapping[str, Any]) -> tuple[Decimal, Decimal, float | None, dt.datetime | None]:
    """Latitude, longitude, accuracy and device time of a check-in or check-out, or one
    `ValidationFailed` naming every bad field."""
    lat = _number(data.get("latitude"))
    lng = _number(data.get("longitude"))
    accuracy = _number(data.get("accuracy_m"))
    errors: dict[str, list[str]] = {}
    messages = {
        "missing": _("缺少定位，请允许手机定位后重试"),
        "out_of_range": _("坐标超出范围（纬度 ±90，经度 ±180）"),
        "null_island": _("坐标 (0, 0) 不是有效定位"),
        "absurd": _("定位精度无效（应在 0 到 10000 米之间）"),
    }
    for name, problem in rules.position_problems(lat, lng, accuracy).items():
        errors.setdefault(name, []).append(messages[problem])
    device_at = None
    raw_device = data.get("device_at")
    if isinstance(raw_device, dt.datetime):
        device_at = raw_device
    elif raw_device not in (None, ""):
        try:
            device_at = parse_datetime(str(raw_device).strip())
        except ValueError:
            device_at = None
        if device_at is None:
            errors.setdefault("device_at", []).append(_("设备时间格式无效（ISO 8601）"))
    if device_at is not None and timezone.is_naive(device_at):
        device_at = timezone.make_aware(device_at)
    if errors:
        raise ValidationFailed(_("定位数据有误"), errors=errors)
    assert lat is not None and lng is not None
    return (
        Decimal(repr(lat)).quantize(COORD, rounding=ROUND_HALF_UP),
        Decimal(repr(lng)).quantize(COORD, rounding=ROUND_HALF_UP),
        accuracy,
        device_at,
    )


def _event_time(server_at: dt.datetime | None, device_at: dt.datetime | None) -> dt.datetime | None:
    return None if server_at is None else rules.event_time(server_at, device_at)


def _raise_flags(visit: Visit, hits: Iterable[rules.FlagHit]) -> list[str]:
    """Store the flags (a flag already raised on the visit gets the new figures merged in) and
    recount ``visit.flag_count`` (saved by the caller). Returns the codes raised now."""
    codes = []
    existing = {flag.code: flag for flag in VisitFlag.objects.filter(visit=visit)}
    for hit in hits:
        codes.append(hit.code)
        flag = existing.get(hit.code)
        if flag is None:
            existing[hit.code] = VisitFlag.objects.create(visit=visit, code=hit.code, detail=hit.detail)
        else:
            flag.detail = {**flag.detail, **hit.detail}
            flag.save(update_fields=["detail"])
    visit.flag_count = len(existing)
    return codes


def required_steps(visit: Visit) -> list[str]:
    """The required step kinds of the visit's standard, in the procedure's order."""
    wanted = set(visit.standard.required_steps) if visit.standard_id and visit.standard else set()
    return [kind for kind in VisitStepKind.values if kind in wanted]


def missing_steps(visit: Visit) -> list[str]:
    done = set(VisitStep.objects.filter(visit=visit).values_list("kind", flat=True))
    return [kind for kind in required_steps(visit) if kind not in done]


def _idempotent(
    *,
    actor: Any,
    key: str,
    action: str,
    request_hash: str,
    run: Callable[[], tuple[T, Visit, int | None]],
    replay: Callable[[VisitRequest], T],
    on_rollback: Callable[[], None] | None = None,
) -> tuple[T, bool]:
    """``run`` unless the key already made its result; a concurrent retry that loses the race
    answers with the winner's result — whether it lost on the unique (actor, key) or on a rule
    the winner's commit now breaks (the visit exists, the visit is checked in). ``on_rollback``
    undoes what the database cannot (a stored file) when ``run``'s rows are rolled back."""
    earlier = idempotency.earlier_request(actor, key, action=action, digest=request_hash)
    if earlier is not None:
        return replay(earlier), False
    try:
        with transaction.atomic():
            result, visit, object_id = run()
            idempotency.remember(actor, key, action=action, digest=request_hash, visit=visit, object_id=object_id)
            return result, True
    except BaseException as exc:
        if on_rollback is not None:
            on_rollback()
        if not key or not isinstance(exc, IntegrityError | DomainError):
            raise
        earlier = idempotency.earlier_request(actor, key, action=action, digest=request_hash)
        if earlier is None:
            raise
        return replay(earlier), False


def _visit_replay(request: VisitRequest) -> Visit:
    return Visit.objects.get(pk=request.visit_id)


# --------------------------------------------------------------------------- ad-hoc visits


@transaction.atomic
def visit_create_ad_hoc(
    *, actor: Any, account_id: Any, notes: str = "", idempotency_key: str = ""
) -> tuple[Visit, bool]:
    """A visit the route did not plan (临时拜访), for today, to an outlet in the actor's scope.
    Refused while the rep already has an open visit to that outlet today (409 ``visit_exists``)."""
    key = idempotency.clean_key(idempotency_key)
    try:
        pk = int(account_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_("请选择客户"), field="account_id") from None
    account = Account.objects.filter(pk=pk).first()
    scope = account_scope(actor)
    if account is None or not (
        scope.everything
        or scope.allows(owner_id=account.owner_id, unit_id=account.org_unit_id)
        or account.pk in scope.account_ids
    ):
        raise NotFound(_("客户不存在"))
    _require(actor, "field.add_visit")
    employee = employee_of(actor)
    if employee is None:
        raise PermissionDenied(_("只有在职员工可以拜访客户"), code="not_employee")
    notes = (notes or "").strip()
    request_hash = idempotency.request_hash({"account_id": account.pk, "notes": notes})

    def run() -> tuple[Visit, Visit, int | None]:
        today = timezone.localdate()
        open_visit = (
            Visit.objects.filter(rep=actor, account=account, visit_date=today, status__in=OPEN_STATUSES)
            .order_by("id")
            .first()
        )
        if open_visit is not None:
            raise Conflict(
                _("今天已有该客户的拜访，请直接打开它"), code="visit_exists", extra={"visit_id": open_visit.pk}
            )
        visit = Visit.objects.create(
            account=account,
            rep=actor,
            org_unit_id=employee.org_unit_id,
            kind=VisitKind.AD_HOC,
            status=VisitStatus.PLANNED,
            visit_date=today,
            standard=standard_for_account(account),
            notes=notes,
            client_key=hashlib.sha256(f"{actor.pk}:{key}".encode()).hexdigest() if key else None,
        )
        audit_create(actor=actor, instance=visit)
        return visit, visit, None

    return _idempotent(actor=actor, key=key, action="ad_hoc", request_hash=request_hash, run=run, replay=_visit_replay)


# --------------------------------------------------------------------------- check-in and check-out


def _previous_visit(visit: Visit, at: dt.datetime) -> rules.PreviousVisit | None:
    """The rep's latest other visit checked in before ``at`` on the same local day."""
    day = timezone.localtime(at).date()
    # A range on check_in_at itself (not on its date), so the (rep, check_in_at) index serves it.
    since = timezone.make_aware(dt.datetime.combine(day - dt.timedelta(days=1), dt.time.min))
    candidates = (
        Visit.objects.filter(
            rep_id=visit.rep_id,
            check_in_at__gte=since,
            check_in_latitude__isnull=False,
        )
        .exclude(pk=visit.pk)
        .order_by("-check_in_at", "-id")[:10]
    )
    best: tuple[dt.datetime, Visit] | None = None
    for other in candidates:
        arrived = _event_time(other.check_in_at, other.check_in_device_at)
        if arrived is None or arrived > at or timezone.localtime(arrived).date() != day:
            continue
        if best is None or arrived > best[0]:
            best = (arrived, other)
    if best is None:
        return None
    other = best[1]
    left = _event_time(other.check_out_at, other.check_out_device_at) or best[0]
    assert other.check_in_latitude is not None and other.check_in_longitude is not None
    return rules.PreviousVisit(
        visit_id=other.pk, latitude=other.check_in_latitude, longitude=other.check_in_longitude, left_at=left
    )


@transaction.atomic
def visit_check_in(
    *, actor: Any, visit_id: Any, data: Mapping[str, Any], idempotency_key: str = ""
) -> tuple[Visit, bool]:
    """Check in at the outlet: ``data`` has ``latitude``, ``longitude``, ``accuracy_m`` (metres,
    optional) and ``device_at`` (the device's ISO time, optional). Records the server time, the
    distance to the outlet's stored position and the flags of `rules.check_in_flags`."""
    visit = _own_visit(actor, visit_id, "field.change_visit")
    key = idempotency.clean_key(idempotency_key)
    lat, lng, accuracy, device_at = _position(data)
    request_hash = idempotency.request_hash(
        {"visit": visit.pk, "lat": lat, "lng": lng, "acc": accuracy, "device_at": device_at}
    )

    def run() -> tuple[Visit, Visit, int | None]:
        if visit.status != VisitStatus.PLANNED or visit.check_in_at is not None:
            raise Conflict(
                _("该拜访已签到或已结束（状态：%(status)s）") % {"status": visit.get_status_display()},
                code="already_checked_in",
            )
        now = timezone.now()
        if visit.visit_date > timezone.localdate(now):
            raise ValidationFailed(
                _("该拜访计划在 %(day)s，不能提前签到；如需今天拜访，请新建临时拜访") % {"day": visit.visit_date},
                code="not_today",
                field="visit_date",
            )
        at = rules.event_time(now, device_at)
        account = Account.objects.only("latitude", "longitude").get(pk=visit.account_id)
        before = snapshot(visit)
        visit.check_in_at = now
        visit.check_in_device_at = device_at
        visit.check_in_latitude, visit.check_in_longitude = lat, lng
        visit.check_in_accuracy_m = accuracy
        visit.check_in_distance_m = (
            round(rules.distance_m(lat, lng, account.latitude, account.longitude), 1)
            if account.latitude is not None
            and account.longitude is not None
            and rules.has_position(account.latitude, account.longitude)
            else None
        )
        visit.status = VisitStatus.IN_PROGRESS
        hits = rules.check_in_flags(
            lat=lat,
            lng=lng,
            accuracy_m=accuracy,
            at=at,
            outlet_lat=account.latitude,
            outlet_lng=account.longitude,
            previous=_previous_visit(visit, at),
        )
        codes = _raise_flags(visit, hits)
        visit.version += 1
        visit.save()
        audit_update(actor=actor, instance=visit, before=before, reason=",".join(codes))
        return visit, visit, None

    return _idempotent(
        actor=actor, key=key, action="check_in", request_hash=request_hash, run=run, replay=_visit_replay
    )


@transaction.atomic
def visit_check_out(
    *, actor: Any, visit_id: Any, data: Mapping[str, Any], idempotency_key: str = ""
) -> tuple[Visit, bool]:
    """Check out: the same position fields as the check-in; records the duration and the flags
    of `rules.check_out_flags` (short visit, outside hours, poor accuracy)."""
    visit = _own_visit(actor, visit_id, "field.change_visit")
    key = idempotency.clean_key(idempotency_key)
    lat, lng, accuracy, device_at = _position(data)
    request_hash = idempotency.request_hash(
        {"visit": visit.pk, "lat": lat, "lng": lng, "acc": accuracy, "device_at": device_at}
    )

    def run() -> tuple[Visit, Visit, int | None]:
        if visit.check_in_at is None or visit.status != VisitStatus.IN_PROGRESS:
            raise Conflict(_("请先签到再签退"), code="not_checked_in")
        if visit.check_out_at is not None:
            raise Conflict(_("该拜访已签退"), code="already_checked_out")
        now = timezone.now()
        arrived = rules.event_time(visit.check_in_at, visit.check_in_device_at)
        left = rules.event_time(now, device_at)
        if left < arrived:
            raise ValidationFailed(
                _("签退时间不能早于签到时间（%(at)s）") % {"at": timezone.localtime(arrived).strftime("%H:%M:%S")},
                code="check_out_before_check_in",
                field="device_at",
            )
        before = snapshot(visit)
        visit.check_out_at = now
        visit.check_out_device_at = device_at
        visit.check_out_latitude, visit.check_out_longitude = lat, lng
        visit.check_out_accuracy_m = accuracy
        visit.duration_seconds = int((left - arrived).total_seconds())
        standard = VisitStandard.objects.filter(pk=visit.standard_id).first() if visit.standard_id else None
        hits = rules.check_out_flags(
            check_in_at=arrived,
            check_out_at=left,
            accuracy_m=accuracy,
            min_minutes=standard.min_minutes if standard else None,
        )
        codes = _raise_flags(visit, hits)
        visit.version += 1
        visit.save()
        audit_update(actor=actor, instance=visit, before=before, reason=",".join(codes))
        return visit, visit, None

    return _idempotent(
        actor=actor, key=key, action="check_out", request_hash=request_hash, run=run, replay=_visit_replay
    )


# --------------------------------------------------------------------------- steps


def _step_data(kind: str, raw_data: Any) -> dict[str, Any]:
    if raw_data is None:
        return {}
    if not isinstance(raw_data, Mapping):
        raise ValidationFailed(_("步骤内容应为对象"), field="data")
    data: dict[str, Any] = dict(raw_data)
    if kind == VisitStepKind.POSM:
        checks = data.get("checks", {})
        if set(data) - {"checks"} or not isinstance(checks, Mapping):
            raise ValidationFailed(_('助销物检查应为 {"checks": {项目: 是/否}}'), field="data")
        unknown = sorted(set(checks) - set(POSM_CHECKS))
        if unknown:
            raise ValidationFailed(
                _("未知的助销物检查项：%(names)s") % {"names": "、".join(unknown)}, field="data.checks"
            )
        if not all(isinstance(v, bool) for v in checks.values()):
            raise ValidationFailed(_("助销物检查项的值应为是或否"), field="data.checks")
        return {"checks": {k: checks[k] for k in POSM_CHECKS if k in checks}}
    if kind == VisitStepKind.SHELF:
        unknown = sorted(set(data) - set(SHELF_CHECKS))
        if unknown or not all(isinstance(v, bool) for v in data.values()):
            raise ValidationFailed(
                _("货架检查只接受：%(names)s（是或否）") % {"names": "、".join(SHELF_CHECKS)}, field="data"
            )
        return data
    try:
        raw = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationFailed(_("步骤内容无法保存为 JSON"), field="data") from None
    if len(raw) > STEP_DATA_MAX_CHARS:
        raise ValidationFailed(_("步骤内容过长（上限 %(n)d 字符）") % {"n": STEP_DATA_MAX_CHARS}, field="data")
    return data


@transaction.atomic
def visit_step_record(
    *,
    actor: Any,
    visit_id: Any,
    kind: str,
    data: Any = None,
    notes: str = "",
    idempotency_key: str = "",
) -> tuple[VisitStep, bool]:
    """Record a step of the standard procedure during a checked-in visit (recording a kind
    again replaces what it held). ``data`` by kind: POSM ``{"checks": {"poster": true, …}}``
    (`POSM_CHECKS`), SHELF ``{"tidied": true, "storeroom": true}``; others any small object.
    Facings, prices and stock per SKU are the stock part's (its services write the STOCK step)."""
    visit = _own_visit(actor, visit_id, "field.add_visitstep")
    key = idempotency.clean_key(idempotency_key)
    kind = (kind or "").strip()
    if kind not in VisitStepKind.values:
        raise ValidationFailed(_("未知的拜访步骤：%(kind)s") % {"kind": kind or "—"}, field="kind")
    clean = _step_data(kind, data)
    notes = (notes or "").strip()
    request_hash = idempotency.request_hash({"visit": visit.pk, "kind": kind, "data": clean, "notes": notes})

    def run() -> tuple[VisitStep, Visit, int | None]:
        if visit.status != VisitStatus.IN_PROGRESS:
            raise Conflict(_("请先签到；已结束的拜访不能再记录步骤"), code="visit_not_in_progress")
        step = VisitStep.objects.filter(visit=visit, kind=kind).first()
        now = timezone.now()
        if step is None:
            step = VisitStep.objects.create(visit=visit, kind=kind, done_at=now, data=clean, notes=notes)
            audit_create(actor=actor, instance=step)
        else:
            before = snapshot(step, ["data", "notes", "done_at"])
            step.data, step.notes, step.done_at = clean, notes, now
            step.save(update_fields=["data", "notes", "done_at"])
            audit_update(actor=actor, instance=step, before=before)
        visit.version += 1
        visit.save(update_fields=["version", "updated_at"])
        return step, visit, step.pk

    def replay(request: VisitRequest) -> VisitStep:
        return VisitStep.objects.get(pk=int(request.object_id or 0))

    return _idempotent(actor=actor, key=key, action="step", request_hash=request_hash, run=run, replay=replay)


# --------------------------------------------------------------------------- photos


def photo_max_bytes() -> int:
    return int(settings.FIELD_PHOTO_MAX_BYTES)


def _read_image(upload: Any) -> tuple[bytes, str, str, int, int]:
    """The upload's bytes, content type, extension, width and height; or a clear error."""
    if upload is None:
        raise ValidationFailed(_("请选择照片"), field="file", code="file_missing")
    limit = photo_max_bytes()
    size = getattr(upload, "size", None)
    if size is not None and int(size) > limit:
        raise ValidationFailed(
            _("照片过大（%(size)d KB），上限 %(max)d KB") % {"size": int(size) // 1024, "max": limit // 1024},
            field="file",
            code="file_too_large",
        )
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ValidationFailed(
            _("照片过大，上限 %(max)d KB") % {"max": limit // 1024}, field="file", code="file_too_large"
        )
    if not content:
        raise ValidationFailed(_("文件为空"), field="file", code="empty_file")
    not_image = ValidationFailed(_("文件不是可用的图片（支持 JPEG、PNG、WebP）"), field="file", code="not_an_image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                image_format = probe.format or ""
                probe.verify()
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise not_image from None
    except (OSError, SyntaxError, ValueError):
        raise not_image from None
    if image_format not in PHOTO_TYPES:
        raise not_image
    content_type, extension = PHOTO_TYPES[image_format]
    return content, content_type, extension, width, height


@transaction.atomic
def visit_photo_add(
    *,
    actor: Any,
    visit_id: Any,
    upload: Any,
    kind: str = PhotoKind.SHELF,
    taken_at: Any = None,
    idempotency_key: str = "",
) -> tuple[VisitPhoto, bool]:
    """Store a photo of a checked-in visit through Django's storage (JPEG, PNG or WebP up to
    ``FIELD_PHOTO_MAX_BYTES``, checked by decoding it). The content's SHA-256 finds a photo
    already used at another visit: this one gets ``reused_from`` and the visit the
    ``reused_photo`` flag. The same picture sent twice to one visit is stored once."""
    visit = _own_visit(actor, visit_id, "field.add_visitphoto")
    key = idempotency.clean_key(idempotency_key)
    errors: dict[str, list[str]] = {}
    kind = (kind or PhotoKind.SHELF).strip()
    if kind not in PhotoKind.values:
        errors["kind"] = [_("未知的照片类型：%(kind)s") % {"kind": kind}]
    taken: dt.datetime | None = None
    if isinstance(taken_at, dt.datetime):
        taken = taken_at
    elif taken_at not in (None, ""):
        try:
            taken = parse_datetime(str(taken_at).strip())
        except ValueError:
            taken = None
        if taken is None:
            errors["taken_at"] = [_("拍摄时间格式无效（ISO 8601）")]
    if taken is not None and timezone.is_naive(taken):
        taken = timezone.make_aware(taken)
    if errors:
        raise ValidationFailed(_("照片资料有误"), errors=errors)
    content, content_type, extension, width, height = _read_image(upload)
    sha = hashlib.sha256(content).hexdigest()
    request_hash = idempotency.request_hash({"visit": visit.pk, "sha256": sha, "kind": kind, "taken_at": taken})
    stored_files: list[tuple[Any, str]] = []

    if (
        visit.status != VisitStatus.IN_PROGRESS
        and idempotency.earlier_request(actor, key, action="photo", digest=request_hash) is None
    ):
        raise Conflict(_("请先签到；已结束的拜访不能再上传照片"), code="visit_not_in_progress")
    same = VisitPhoto.objects.filter(visit=visit, sha256=sha).order_by("id").first()
    if same is not None:  # the same picture again (a retry without a key): stored once
        return same, False

    def run() -> tuple[VisitPhoto, Visit, int | None]:
        original = VisitPhoto.objects.filter(sha256=sha).exclude(visit=visit).order_by("id").first()
        photo = VisitPhoto(
            visit=visit,
            kind=kind,
            sha256=sha,
            size=len(content),
            width=width,
            height=height,
            content_type=content_type,
            taken_at=taken,
            reused_from=original,
            client_key=hashlib.sha256(f"{actor.pk}:{key}".encode()).hexdigest() if key else None,
        )
        photo.file.save(f"{sha[:24]}.{extension}", ContentFile(content), save=False)
        stored_files.append((photo.file.storage, str(photo.file.name)))
        photo.save()
        before = snapshot(visit, ["flag_count", "version"])
        if original is not None:
            _raise_flags(
                visit,
                [
                    rules.FlagHit(
                        VisitFlagCode.REUSED_PHOTO.value,
                        {
                            "photo_id": photo.pk,
                            "original_photo_id": original.pk,
                            "original_visit_id": original.visit_id,
                            "sha256": sha,
                        },
                    )
                ],
            )
        visit.version += 1
        visit.save(update_fields=["flag_count", "version", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=visit,
            changes={
                "photos": [None, photo.file.name],
                **{k: [before[k], v] for k, v in snapshot(visit, before).items() if v != before[k]},
            },
        )
        return photo, visit, photo.pk

    def replay(request: VisitRequest) -> VisitPhoto:
        return VisitPhoto.objects.get(pk=int(request.object_id or 0))

    def delete_files() -> None:  # nothing partial: a stored file goes with its rolled-back rows
        for storage, name in stored_files:
            storage.delete(name)

    return _idempotent(
        actor=actor,
        key=key,
        action="photo",
        request_hash=request_hash,
        run=run,
        replay=replay,
        on_rollback=delete_files,
    )


# --------------------------------------------------------------------------- completion


@transaction.atomic
def visit_complete(*, actor: Any, visit_id: Any, expected_version: int | None = None) -> Visit:
    """Finish a checked-out visit. Refused while a required step of the visit's standard is
    missing (422 ``steps_missing`` naming them). Sets ``actual_position`` (the order of
    completion among the rep's visits that day) and moves the outlet's coverage on: last
    visited that day, next due a cycle later."""
    visit = _own_visit(actor, visit_id, "field.change_visit")
    if expected_version is not None and expected_version != visit.version:
        raise Conflict(
            _("记录已被他人修改，请刷新后重试"), code="version_conflict", extra={"current_version": visit.version}
        )
    if visit.status == VisitStatus.COMPLETED:
        return visit
    if visit.status != VisitStatus.IN_PROGRESS or visit.check_in_at is None:
        raise Conflict(_("请先签到再完成拜访"), code="not_checked_in")
    if visit.check_out_at is None:
        raise Conflict(_("请先签退再完成拜访"), code="not_checked_out")
    missing = missing_steps(visit)
    if missing:
        labels = [str(VisitStepKind(kind).label) for kind in missing]
        raise ValidationFailed(
            _("还有必做步骤未完成：%(steps)s") % {"steps": "、".join(labels)},
            code="steps_missing",
            errors={"steps": labels},
            extra={"missing_steps": missing},
        )
    before = snapshot(visit)
    done_today = Visit.objects.filter(
        rep_id=visit.rep_id, visit_date=visit.visit_date, status=VisitStatus.COMPLETED
    ).count()
    visit.status = VisitStatus.COMPLETED
    visit.actual_position = done_today + 1
    visit.version += 1
    visit.save(update_fields=["status", "actual_position", "version", "updated_at"])
    audit_update(actor=actor, instance=visit, before=before)
    coverage = OutletCoverage.objects.select_for_update().filter(account_id=visit.account_id).first()
    if coverage is not None and (coverage.last_visited_on is None or coverage.last_visited_on < visit.visit_date):
        coverage.last_visited_on = visit.visit_date
        coverage.due_on = visit.visit_date + dt.timedelta(days=coverage.cycle_days)
        coverage.save(update_fields=["last_visited_on", "due_on"])
    return visit
