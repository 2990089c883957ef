"""Writes of the field app: supervisor audits (稽查).

`audit_sample` picks recent completed visits of an area to re-check — the riskiest first
(flags, very short visits, far check-ins, reused photos, unusually large stock changes), then a
random sample of the rest — and assigns each to a supervisor of the visit's area (one audit per
visit). `audit_record_finding` records what the supervisor found; any finding other than
"confirmed" is a problem that counts in the rep's figures.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_create, audit_update, snapshot
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.notifications import notify
from jinggeng.core.scope import ScopeLevel, apply_scope
from jinggeng.field.models import (
    AuditFinding,
    AuditReason,
    AuditStatus,
    StockCount,
    Visit,
    VisitAudit,
    VisitPhoto,
    VisitStatus,
)
from jinggeng.field.selectors.reports import MANAGER_ROLES, audit_get, nearest_people
from jinggeng.org.models import OrgUnit, RoleCode
from jinggeng.org.scope import scope_for

SAMPLE_MAX = 200
NOTES_MAX = 2000
#: A visit shorter than this share of the sample's median duration is an outlier.
SHORT_SHARE = 0.5
#: A stock change is unusual when it exceeds both this many pieces and this many times the
#: previous count (or when the count is more than the previous count plus what was received).
STOCK_JUMP_PIECES = 48
STOCK_JUMP_TIMES = 2


@dataclass(frozen=True)
class VisitRisk:
    """Why a visit is risky: its score and the reasons (codes) behind it."""

    visit_id: int
    score: float
    reasons: tuple[str, ...]


def stock_change_unusual(*, previous: int | None, received: int, stock: int) -> bool:
    """A count that cannot be right or moves far more than usual: more stock than the previous
    count plus what was received (negative sales), or a jump larger than both
    ``STOCK_JUMP_PIECES`` and ``STOCK_JUMP_TIMES`` times the previous count."""
    if previous is None:
        return False
    if stock > previous + received:
        return True
    change = abs(stock - previous)
    return change > STOCK_JUMP_PIECES and change > STOCK_JUMP_TIMES * max(previous, 1)


def visit_risks(candidates: Sequence[Mapping[str, Any]], unusual_stock: set[int]) -> dict[int, VisitRisk]:
    """Score each candidate visit (rows with ``id``, ``flag_count``, ``duration_seconds``,
    ``check_in_distance_m``, ``reused``): 1 per flag, 1 for a visit shorter than half the
    median duration of the candidates, 1 (plus up to 2 by distance in km) for a check-in
    farther than ``FIELD_CHECKIN_MAX_DISTANCE_M``, 2 for a reused photo, 1 for an unusual stock
    change."""
    durations = [c["duration_seconds"] for c in candidates if c["duration_seconds"]]
    median = statistics.median(durations) if durations else 0
    far_m = float(settings.FIELD_CHECKIN_MAX_DISTANCE_M)
    risks: dict[int, VisitRisk] = {}
    for c in candidates:
        score = 0.0
        reasons: list[str] = []
        if c["flag_count"]:
            score += c["flag_count"]
            reasons.append("flags")
        if c["duration_seconds"] is not None and median and c["duration_seconds"] < SHORT_SHARE * median:
            score += 1
            reasons.append("short")
        distance = c["check_in_distance_m"]
        if distance is not None and distance > far_m:
            score += 1 + min(distance / 1000.0, 2.0)
            reasons.append("far")
        if c["reused"]:
            score += 2
            reasons.append("reused_photo")
        if c["id"] in unusual_stock:
            score += 1
            reasons.append("stock_change")
        risks[c["id"]] = VisitRisk(visit_id=c["id"], score=round(score, 3), reasons=tuple(reasons))
    return risks


def _unit_in_scope(actor: Any, org_unit: Any) -> OrgUnit:
    unit_id = org_unit if isinstance(org_unit, int) else getattr(org_unit, "pk", None)
    unit = OrgUnit.objects.filter(pk=int(unit_id or 0)).first()
    scope = scope_for(actor)
    allowed = unit is not None and (
        scope.everything or (scope.level in (ScopeLevel.TEAM, ScopeLevel.SUBTREE) and unit.pk in scope.unit_ids)
    )
    if not allowed:
        raise NotFound(_("组织单元不存在"))
    assert unit is not None
    return unit


def _unusual_stock_visits(candidates: Any) -> set[int]:
    previous = (
        StockCount.objects.filter(
            account_id=OuterRef("account_id"), sku_id=OuterRef("sku_id"), counted_on__lt=OuterRef("counted_on")
        )
        .order_by("-counted_on", "-id")
        .values("stock")[:1]
    )
    rows = (
        StockCount.objects.filter(visit__in=candidates)
        .annotate(previous=Subquery(previous, output_field=IntegerField()))
        .values_list("visit_id", "previous", "received", "stock")
    )
    return {
        visit_id
        for visit_id, prev, received, stock in rows
        if stock_change_unusual(previous=prev, received=received, stock=stock)
    }


@transaction.atomic
def audit_sample(
    *,
    actor: Any,
    org_unit: Any,
    since: dt.date,
    n_random: int,
    n_risk: int,
    seed: int | None = None,
    today: dt.date | None = None,
) -> list[VisitAudit]:
    """Sample completed visits of ``org_unit`` (and the units below it) since ``since`` that
    have no audit yet: the ``n_risk`` riskiest (score > 0, see `visit_risks`), then ``n_random``
    at random from the rest; each assigned to a supervisor of the visit's area (the nearest
    level with supervisors, else with managers), the least loaded first. The same ``seed``
    gives the same sample. Returns the audits created."""
    if not actor.has_perm("field.add_visitaudit"):
        raise PermissionDenied(_("没有执行此操作的权限"), extra={"permission": "field.add_visitaudit"})
    unit = _unit_in_scope(actor, org_unit)
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    for name, value in (("n_random", n_random), ("n_risk", n_risk)):
        if not isinstance(value, int) or value < 0 or value > SAMPLE_MAX:
            errors.setdefault(name, []).append(_("应为 0 到 %(max)d 之间的整数") % {"max": SAMPLE_MAX})
    if not errors and n_random + n_risk == 0:
        errors.setdefault("n_random", []).append(_("至少抽取一条拜访"))
    if since > today:
        errors.setdefault("since", []).append(_("开始日期不能晚于今天"))
    if errors:
        raise ValidationFailed(_("抽查参数有误"), errors=errors)

    candidates_qs = apply_scope(
        Visit.objects.filter(
            status=VisitStatus.COMPLETED,
            visit_date__gte=since,
            visit_date__lte=today,
            org_unit__path__startswith=unit.path,
            audit__isnull=True,
        ),
        scope_for(actor),
        owner_field="rep",
    ).exclude(rep_id=actor.pk)
    reused = VisitPhoto.objects.filter(visit_id=OuterRef("pk"), reused_from__isnull=False)
    candidates = list(
        candidates_qs.annotate(reused=Exists(reused))
        .values("id", "rep_id", "org_unit_id", "flag_count", "duration_seconds", "check_in_distance_m", "reused")
        .order_by("id")
    )
    if not candidates:
        return []
    risks = visit_risks(candidates, _unusual_stock_visits(candidates_qs.values("pk")))
    rng = random.Random(seed)
    risky = [c["id"] for c in candidates if risks[c["id"]].score > 0]
    tiebreak = {vid: rng.random() for vid in risky}
    risky.sort(key=lambda vid: (-risks[vid].score, tiebreak[vid]))
    picked: list[tuple[int, str]] = [(vid, AuditReason.RISK) for vid in risky[:n_risk]]
    chosen = {vid for vid, _reason in picked}
    rest = [c["id"] for c in candidates if c["id"] not in chosen]
    picked += [(vid, AuditReason.RANDOM) for vid in rng.sample(rest, min(n_random, len(rest)))]

    by_id = {c["id"]: c for c in candidates}
    units = {by_id[vid]["org_unit_id"] for vid, _reason in picked}
    supervisors = nearest_people(org_unit_ids=units, roles=[RoleCode.SUPERVISOR])
    managers = nearest_people(org_unit_ids=units, roles=MANAGER_ROLES)
    load: dict[int, int] = defaultdict(int)
    for supervisor_id, n in (
        VisitAudit.objects.filter(status=AuditStatus.ASSIGNED)
        .values("supervisor_id")
        .annotate(n=Count("id"))
        .values_list("supervisor_id", "n")
    ):
        load[supervisor_id] = n

    created: list[VisitAudit] = []
    for vid, reason in picked:
        row = by_id[vid]
        pool = [u for u in supervisors.get(row["org_unit_id"], []) if u != row["rep_id"]]
        pool = pool or [u for u in managers.get(row["org_unit_id"], []) if u != row["rep_id"]] or [actor.pk]
        supervisor_id = min(pool, key=lambda u: (load[u], u))
        load[supervisor_id] += 1
        audit = VisitAudit.objects.create(
            visit_id=vid,
            rep_id=row["rep_id"],
            org_unit_id=row["org_unit_id"],
            supervisor_id=supervisor_id,
            reason=reason,
            risk_score=risks[vid].score,
        )
        audit_create(actor=actor, instance=audit, extra={"risk_reasons": list(risks[vid].reasons)})
        created.append(audit)
    _tell_supervisors(created)
    return created


def _tell_supervisors(audits: list[VisitAudit]) -> None:
    """One notification (and e-mail, after commit) per supervisor with the number of visits
    newly assigned to them."""
    by_supervisor: dict[int, list[int]] = defaultdict(list)
    for audit in audits:
        by_supervisor[audit.supervisor_id].append(audit.pk)
    try:
        link = reverse("field:audit_list")
    except NoReverseMatch:
        link = ""
    for supervisor_id, ids in by_supervisor.items():
        notify(
            users=[supervisor_id],
            kind="field_audit",
            title=_("%(n)d 条拜访待稽查") % {"n": len(ids)},
            body=_("请到现场复核这些拜访并记录稽查结论。"),
            link=link,
            dedupe_key=f"field.audit:{min(ids)}",
        )


@transaction.atomic
def audit_record_finding(
    *,
    actor: Any,
    audit_id: int,
    finding: str,
    notes: str = "",
    expected_version: int | None = None,
) -> VisitAudit:
    """Record the supervisor's finding on an audit (again, to correct it: audited)."""
    audit = audit_get(actor=actor, audit_id=audit_id)  # NotFound when not visible
    if audit.rep_id == actor.pk or not (audit.supervisor_id == actor.pk or actor.has_perm("field.change_visitaudit")):
        raise PermissionDenied(_("没有执行此操作的权限"), extra={"permission": "field.change_visitaudit"})
    notes = (notes or "").strip()
    errors: dict[str, list[str]] = {}
    if finding not in AuditFinding.values:
        errors["finding"] = [_("请选择稽查结论")]
    elif finding != AuditFinding.CONFIRMED and not notes:
        errors["notes"] = [_("发现问题时请写明情况")]
    if len(notes) > NOTES_MAX:
        errors.setdefault("notes", []).append(_("不能超过 %(n)d 个字") % {"n": NOTES_MAX})
    if errors:
        raise ValidationFailed(_("稽查结论有误"), errors=errors)
    audit = VisitAudit.objects.select_for_update().get(pk=audit.pk)
    if expected_version is not None and expected_version != audit.version:
        raise Conflict(
            _("记录已被他人修改，请刷新后重试"), code="version_conflict", extra={"current_version": audit.version}
        )
    before = snapshot(audit)
    audit.status = AuditStatus.DONE
    audit.finding = finding
    audit.notes = notes
    audit.done_at = timezone.now()
    audit.version += 1
    audit.save(update_fields=["status", "finding", "notes", "done_at", "version", "updated_at"])
    audit_update(actor=actor, instance=audit, before=before)
    return audit
