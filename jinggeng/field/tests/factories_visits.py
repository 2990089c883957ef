"""Helpers for the visits part's tests: small generated images, an outlet with a position and
a visit of today for a rep, and device times relative to now."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import Visit, VisitKind, VisitStandard, VisitStatus, VisitStepKind
from jinggeng.field.tests.factories import VisitStandardFactory

# The outlet: People's Square, Shanghai. 0.002° north of it is 222.4 m away.
OUTLET_LAT = Decimal("31.230400")
OUTLET_LNG = Decimal("121.473700")


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (4, 3), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(content: bytes, name: str = "shelf.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def standard(**kwargs: Any) -> VisitStandard:
    values: dict[str, Any] = {
        "required_steps": [VisitStepKind.CARD, VisitStepKind.STOCK, VisitStepKind.FAREWELL],
        "optional_steps": [VisitStepKind.POSM, VisitStepKind.COMPETITOR],
        "min_minutes": 5,
        **kwargs,
    }
    return VisitStandardFactory(**values)


def outlet(owner: Any, **kwargs: Any) -> Any:
    values: dict[str, Any] = {"latitude": OUTLET_LAT, "longitude": OUTLET_LNG, "owner": owner, **kwargs}
    return AccountFactory(**values)


def visit_today(rep: Any, account: Any, *, std: VisitStandard | None = None, **kwargs: Any) -> Visit:
    values: dict[str, Any] = {
        "account": account,
        "rep": rep,
        "org_unit": rep.employee.org_unit,
        "kind": VisitKind.PLANNED,
        "status": VisitStatus.PLANNED,
        "visit_date": timezone.localdate(),
        "planned_date": timezone.localdate(),
        "planned_position": 1,
        "standard": std,
        **kwargs,
    }
    return Visit.objects.create(**values)


def minutes_ago(minutes: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


def position(lat: Any = OUTLET_LAT, lng: Any = OUTLET_LNG, accuracy: Any = 12, device_at: Any = None) -> dict[str, Any]:
    data: dict[str, Any] = {"latitude": str(lat), "longitude": str(lng), "accuracy_m": accuracy}
    if device_at is not None:
        data["device_at"] = device_at.isoformat() if isinstance(device_at, dt.datetime) else device_at
    return data
