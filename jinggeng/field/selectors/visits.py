"""Reads of the field app: visits. Every list is scoped to the actor.

Visits are scoped by their rep (the owner) and org unit:
``apply_scope(qs, scope_for(actor), owner_field="rep")``. Out of scope is `NotFound`; without
``field.view_visit`` the actor gets `PermissionDenied`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.errors import NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.pagination import Page, keyset_paginate
from jinggeng.core.scope import apply_scope
from jinggeng.field.models import (
    Visit,
    VisitFlag,
    VisitFlagCode,
    VisitKind,
    VisitPhoto,
    VisitStatus,
    VisitStep,
    VisitStepKind,
)
from jinggeng.org.scope import scope_for

VISIT_SORTS = ("visit_date", "check_in_at", "flag_count", "id")


def _require_view(actor: Any) -> None:
    if not actor.has_perm("field.view_visit"):
        raise PermissionDenied(_("您没有查看拜访的权限"), extra={"permission": "field.view_visit"})


def visits_scoped(actor: Any) -> QuerySet[Visit]:
    """All visits the actor may see (no permission check: for other parts' selectors)."""
    return apply_scope(Visit.objects.all(), scope_for(actor), owner_field="rep")


@dataclass(frozen=True)
class VisitFilters:
    rep: int | None = None
    day: dt.date | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str = ""
    flag: str = ""
    account: int | None = None
    flagged: bool | None = None


def visit_list(
    *,
    actor: Any,
    filters: VisitFilters | None = None,
    sort: str = "-visit_date",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Visit]:
    """The actor's visible visits, filtered by rep, day (or a date range), status, flag code,
    outlet, flagged or not; newest day first by default. Rows carry ``account`` and ``rep``."""
    _require_view(actor)
    f = filters or VisitFilters()
    if f.status and f.status not in VisitStatus.values:
        raise ValidationFailed(_("无效的状态：%(v)s") % {"v": f.status}, field="status")
    if f.flag and f.flag not in VisitFlagCode.values:
        raise ValidationFailed(_("无效的异常类型：%(v)s") % {"v": f.flag}, field="flag")
    qs = visits_scoped(actor).select_related("account", "rep", "rep__employee")
    if f.rep is not None:
        qs = qs.filter(rep_id=f.rep)
    if f.day is not None:
        qs = qs.filter(visit_date=f.day)
    if f.date_from is not None:
        qs = qs.filter(visit_date__gte=f.date_from)
    if f.date_to is not None:
        qs = qs.filter(visit_date__lte=f.date_to)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.account is not None:
        qs = qs.filter(account_id=f.account)
    if f.flag:
        qs = qs.filter(pk__in=VisitFlag.objects.filter(code=f.flag).values("visit_id"))
    if f.flagged is True:
        qs = qs.filter(flag_count__gt=0)
    elif f.flagged is False:
        qs = qs.filter(flag_count=0)
    qs = qs.prefetch_related(Prefetch("flags", queryset=VisitFlag.objects.order_by("code")))
    return keyset_paginate(qs, sort=sort, allowed_sorts=VISIT_SORTS, cursor=cursor, limit=limit)


def visit_get(*, actor: Any, visit_id: int) -> Visit:
    """One visit in the actor's scope, with its outlet, rep, standard, flags, steps and photos."""
    _require_view(actor)
    visit = (
        visits_scoped(actor)
        .select_related("account", "rep", "rep__employee", "standard", "route", "carried_from")
        .prefetch_related(
            Prefetch("flags", queryset=VisitFlag.objects.order_by("code")),
            Prefetch("steps", queryset=VisitStep.objects.order_by("done_at", "id")),
            Prefetch("photos", queryset=VisitPhoto.objects.order_by("id")),
        )
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        raise NotFound(_("拜访不存在"))
    return visit


def visit_photo_get(*, actor: Any, photo_id: int) -> VisitPhoto:
    """A photo of a visit in the actor's scope (its file is served only through this)."""
    _require_view(actor)
    photo = VisitPhoto.objects.filter(pk=photo_id, visit__in=visits_scoped(actor)).first()
    if photo is None:
        raise NotFound(_("照片不存在"))
    return photo


def visit_today(*, actor: Any, day: dt.date | None = None) -> list[Visit]:
    """The actor's own visits of the day (their phone's "today"): planned ones in route order,
    then ad-hoc ones in the order they were made; carried-over visits have ``carried_from``."""
    _require_view(actor)
    day = day or timezone.localdate()
    return list(
        Visit.objects.filter(rep_id=actor.pk, visit_date=day)
        .exclude(status=VisitStatus.CANCELLED)
        .select_related("account", "standard")
        .prefetch_related(Prefetch("flags", queryset=VisitFlag.objects.order_by("code")))
        .annotate(
            ad_hoc_last=Case(When(kind=VisitKind.AD_HOC, then=Value(1)), default=Value(0), output_field=IntegerField())
        )
        .order_by("ad_hoc_last", "planned_position", "id")
    )


@dataclass(frozen=True)
class StepLine:
    kind: str
    label: str
    required: bool
    done: bool
    step: VisitStep | None


def visit_checklist(visit: Visit) -> list[StepLine]:
    """Every step of the procedure for a visit fetched by `visit_get`: required by its
    standard or not, done or not (a step is done when a `VisitStep` row of that kind exists)."""
    standard = visit.standard
    required = set(standard.required_steps) if standard else set()
    optional = set(standard.optional_steps) if standard else set(VisitStepKind.values)
    steps = {step.kind: step for step in visit.steps.all()}
    return [
        StepLine(kind=kind, label=str(label), required=kind in required, done=kind in steps, step=steps.get(kind))
        for kind, label in VisitStepKind.choices
        if kind in required or kind in optional or kind in steps
    ]
