"""Build the demo company 精耕食品有限公司: org tree, employees, catalog, accounts.

Everything comes from one ``random.Random(seed)``, so the same seed and scale give the same
company. Rows are generated in Python and written in bulk (`BulkWriter`: COPY on PostgreSQL,
batched bulk_create on SQLite), area by area, with one audit record per business record.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.catalog.models import Brand, Category, Product, Sku
from jinggeng.core.errors import Conflict
from jinggeng.core.models import AuditAction, AuditLog
from jinggeng.customers.models import (
    Account,
    AccountStatus,
    AccountType,
    AccountUser,
    ChannelType,
    Contact,
    CustomFieldDefinition,
    SupplyLink,
    Tag,
)
from jinggeng.demo import data
from jinggeng.demo.field import FIELD_SCALES, FieldBuilder, field_build
from jinggeng.demo.progress import Reporter
from jinggeng.demo.sales import SALES_SCALES, SalesBuilder, sales_build
from jinggeng.demo.writer import BulkWriter
from jinggeng.org.divisions import divisions_load
from jinggeng.org.models import Division, DivisionLevel, Employee, OrgUnit, OrgUnitKind, Role, RoleCode
from jinggeng.org.roles import ensure_default_roles

try:  # the customers app's normaliser (same key as duplicate detection)
    from jinggeng.customers.normalize import normalize_name
except ImportError:  # pragma: no cover - fallback while the customers app is being written

    def normalize_name(name: str) -> str:
        return "".join(name.split()).lower()[:120]


User = get_user_model()

FLUSH_ACCOUNTS = 20_000
COUNTED = {
    "users": "auth.user",
    "employees": "org.employee",
    "brands": "catalog.brand",
    "skus": "catalog.sku",
    "accounts": "customers.account",
    "contacts": "customers.contact",
    "supply_links": "customers.supplylink",
    "account_tags": "customers.account_tags",
    "distributor_users": "customers.accountuser",
    "audit_records": "core.auditlog",
}
REASON = "demo"
DEMO_PASSWORD = "demo1234"


@dataclass(frozen=True)
class ScaleSpec:
    name: str
    accounts: int
    employees: int
    max_teams_per_area: int
    distributors_per_area: int


SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec("small", accounts=3_000, employees=150, max_teams_per_area=1, distributors_per_area=3),
    "medium": ScaleSpec("medium", accounts=50_000, employees=1_000, max_teams_per_area=2, distributors_per_area=5),
    "large": ScaleSpec("large", accounts=1_000_000, employees=5_000, max_teams_per_area=2, distributors_per_area=10),
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    role: str
    unit: str


@dataclass
class DemoResult:
    scale: str
    seed: int
    counts: dict[str, int]
    users: list[DemoUser]
    seconds: float


@dataclass
class Person:
    user_id: int
    employee_id: int | None
    username: str
    name: str
    role: str
    unit_id: int


@dataclass
class Team:
    unit: OrgUnit
    reps: list[Person] = field(default_factory=list)


@dataclass
class Area:
    city: data.CitySpec
    unit: OrgUnit
    manager: Person
    teams: list[Team]
    counties: list[tuple[str, str]]  # (code, name)
    accounts: int = 0

    @property
    def reps(self) -> list[Person]:
        return [rep for team in self.teams for rep in team.reps]


def demo_exists() -> bool:
    """True when the database already holds business data (any account)."""
    return Account.objects.exists()


def ean13(first12: str) -> str:
    digits = [int(c) for c in first12]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return first12 + str((10 - total % 10) % 10)


USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(first17: str) -> str:
    """A unified social credit code with its check character (GB 32100)."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return first17 + USCC_CHARS[(31 - total % 31) % 31]


def short_district(name: str) -> str:
    for suffix in ("回族区", "新区", "区", "县", "市"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


PARTS = ("accounts", "sales", "field")


def demo_build(
    *,
    scale: str,
    seed: int = 42,
    password: str = DEMO_PASSWORD,
    reporter: Reporter | None = None,
    only: str = "",
) -> DemoResult:
    """Build the demo company; raises Conflict when it (or its users) already exist.

    ``only="accounts"``: the org tree, employees, catalog and accounts without the sales data;
    ``only="sales"``: add the sales data (`jinggeng.demo.sales`) to a company built earlier;
    ``only="field"``: add the field execution (`jinggeng.demo.field`) to a company built earlier."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}")
    if only and only not in PARTS:
        raise ValueError(f"unknown part {only!r}")
    if only == "sales":
        result = sales_build(scale=scale, seed=seed, reporter=reporter)
        built = DemoResult(scale=scale, seed=seed, counts=result.counts, users=[], seconds=result.seconds)
    elif only == "field":
        done = field_build(scale=scale, seed=seed, reporter=reporter)
        built = DemoResult(scale=scale, seed=seed, counts=done.counts, users=[], seconds=done.seconds)
    else:
        builder = DemoBuilder(
            SCALES[scale], seed=seed, password=password, reporter=reporter or Reporter(), sales=only != "accounts"
        )
        built = builder.build()
    _refresh_statistics()
    return built


def _refresh_statistics() -> None:
    """After a bulk load PostgreSQL's planner statistics describe the empty tables until
    autovacuum catches up; a query planned on them can take a second instead of a millisecond
    (seen: the account list on 1,000,000 accounts). ANALYZE them now."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


class DemoBuilder:
    def __init__(self, spec: ScaleSpec, *, seed: int, password: str, reporter: Reporter, sales: bool = True) -> None:
        self.spec = spec
        self.sales = sales
        self.seed = seed
        self.rng = random.Random(seed)
        self.password_hash = make_password(password)
        self.report = reporter
        self.writer = BulkWriter()
        self.now = timezone.now()
        self.admin_id: int | None = None
        self.audit_rows: list[tuple[Any, ...]] = []
        self.users: list[DemoUser] = []
        self.roles: dict[str, Role] = {}
        self.employee_seq = 0
        self.account_seq = 0
        self.org_units = 0

    # -- entry point ------------------------------------------------------------------------

    def build(self) -> DemoResult:
        started = time.monotonic()
        if not Division.objects.exists():
            self.report.note(_("正在加载行政区划…"))
            divisions_load()
        if OrgUnit.objects.filter(code="HQ").exists() or User.objects.filter(username="gm").exists():
            raise Conflict(_("演示公司已存在（组织编码 HQ 或用户 gm 已被使用）"), code="demo_exists")
        ensure_default_roles()
        self.roles = {r.code: r for r in Role.objects.select_related("group")}
        with transaction.atomic():
            if self.writer.postgres:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            areas = self._build_org()
            self._build_catalog()
            self._build_accounts(areas)
            self._flush_audit()
            sales_counts: dict[str, int] = {}
            if self.sales:
                sales = SalesBuilder(
                    SALES_SCALES[self.spec.name], seed=self.seed, reporter=self.report, writer=self.writer
                )
                sales.build()
                sales_counts = sales.counts()
                field_part = FieldBuilder(
                    FIELD_SCALES[self.spec.name], seed=self.seed, reporter=self.report, writer=self.writer
                )
                field_part.build()
                sales_counts.update(field_part.counts())
            self.writer.sync_sequences()
        written = self.writer.written
        counts = {
            "org_units": self.org_units,
            **{name: written.get(label, 0) for name, label in COUNTED.items()},
            **sales_counts,
        }
        return DemoResult(
            scale=self.spec.name,
            seed=self.seed,
            counts=counts,
            users=self.users,
            seconds=time.monotonic() - started,
        )

    # -- helpers ----------------------------------------------------------------------------

    def person_name(self) -> str:
        surname = self.rng.choice(data.SURNAMES)
        given = "".join(self.rng.choice(data.GIVEN_CHARS) for _ in range(self.rng.choice((1, 2, 2))))
        return surname + given

    def mobile(self) -> str:
        return f"1{self.rng.choice('3456789')}{self.rng.randrange(1_000_000_000):09d}"

    def audit(self, entity: str, entity_id: int, repr_: str, changes: dict[str, Any]) -> None:
        self.audit_rows.append(
            (
                self.writer.next_id(AuditLog),
                self.now,
                self.admin_id,
                AuditAction.CREATE,
                entity,
                str(entity_id),
                repr_[:255],
                {k: [None, v] for k, v in changes.items() if v not in (None, "")},
                REASON,
            )
        )
        if len(self.audit_rows) >= 50_000:
            self._flush_audit()

    def _flush_audit(self) -> None:
        self.writer.write(
            AuditLog,
            ["id", "at", "actor_id", "action", "entity", "entity_id", "entity_repr", "changes", "reason"],
            self.audit_rows,
        )
        self.audit_rows = []

    def _unit(self, code: str, name: str, name_en: str, kind: str, parent: OrgUnit | None) -> OrgUnit:
        unit = OrgUnit.objects.create(code=code, name=name, name_en=name_en, kind=kind, parent=parent)
        unit.path = (parent.path if parent else "/") + f"{unit.pk}/"
        unit.depth = parent.depth + 1 if parent else 0
        unit.save(update_fields=["path", "depth"])
        self.org_units += 1
        self.audit(
            "org.orgunit",
            unit.pk,
            unit.name,
            {"code": code, "name": name, "kind": kind, "parent": parent.pk if parent else None},
        )
        return unit

    # -- organisation -----------------------------------------------------------------------

    def _build_org(self) -> list[Area]:
        spec = self.spec
        hq = self._unit("HQ", data.COMPANY_NAME, data.COMPANY_NAME_EN, OrgUnitKind.COMPANY, None)
        regions: dict[str, OrgUnit] = {}
        for r in data.REGIONS:
            regions[r.slug] = self._unit(f"R-{r.slug.upper()}", r.name, r.name_en, OrgUnitKind.REGION, hq)
        numerals = "一二三四五六七八九十"
        area_units: list[tuple[data.CitySpec, OrgUnit, list[OrgUnit]]] = []
        for city in data.CITIES:
            area = self._unit(
                f"A-{city.slug.upper()}",
                f"{city.name}区域",
                f"{city.slug.title()} Area",
                OrgUnitKind.AREA,
                regions[city.region],
            )
            n_teams = self.rng.randint(1, spec.max_teams_per_area)
            team_units = [
                self._unit(
                    f"T-{city.slug.upper()}-{i + 1}",
                    f"{city.name}{numerals[i]}组",
                    f"{city.slug.title()} Team {i + 1}",
                    OrgUnitKind.TEAM,
                    area,
                )
                for i in range(n_teams)
            ]
            area_units.append((city, area, team_units))

        # Employees ------------------------------------------------------------------------
        self.user_rows: list[tuple[Any, ...]] = []
        self.employee_rows: list[tuple[Any, ...]] = []
        self.group_rows: list[tuple[Any, ...]] = []
        admin = self._person("admin", RoleCode.ADMINISTRATOR, hq, None, superuser=True)
        self.admin_id = admin.user_id
        gm = self._person("gm", RoleCode.GENERAL_MANAGER, hq, None)
        director = self._person("director", RoleCode.SALES_DIRECTOR, hq, gm)
        n_marketing = max(2, spec.employees // 500)
        n_service = max(2, spec.employees // 250)
        for i in range(n_marketing):
            self._person(f"marketing{i + 1 if i else ''}", RoleCode.MARKETING, hq, director)
        for i in range(n_service):
            self._person(f"service{i + 1 if i else ''}", RoleCode.SERVICE_AGENT, hq, director)
        region_managers = {
            r.slug: self._person(f"rm_{r.slug}", RoleCode.REGIONAL_MANAGER, regions[r.slug], director)
            for r in data.REGIONS
        }
        fixed = 3 + n_marketing + n_service + len(data.REGIONS) + len(data.CITIES)
        all_teams = sum(len(t) for _, _, t in area_units)
        per_team, extra = divmod(max(0, spec.employees - fixed), all_teams)

        counties_by_city = self._counties()
        areas: list[Area] = []
        team_index = 0
        for city, area_unit, team_units in area_units:
            manager = self._person(f"am_{city.slug}", RoleCode.AREA_MANAGER, area_unit, region_managers[city.region])
            teams: list[Team] = []
            n_sup = n_rep = n_promoter = 0
            for unit in team_units:
                members = per_team + (1 if team_index < extra else 0)
                team_index += 1
                supervisors = max(1, round(members / 40))
                promoters = max(1, round(members * 0.2))
                reps = max(2, members - supervisors - promoters)
                team = Team(unit=unit)
                for _i in range(supervisors):
                    n_sup += 1
                    self._person(f"sup_{city.slug}{n_sup if n_sup > 1 else ''}", RoleCode.SUPERVISOR, unit, manager)
                for _i in range(reps):
                    n_rep += 1
                    team.reps.append(self._person(f"rep_{city.slug}{n_rep}", RoleCode.REP, unit, manager))
                for _i in range(promoters):
                    n_promoter += 1
                    self._person(f"promoter_{city.slug}{n_promoter}", RoleCode.PROMOTER, unit, manager)
                teams.append(team)
            areas.append(
                Area(city=city, unit=area_unit, manager=manager, teams=teams, counties=counties_by_city[city.slug])
            )

        people = len(self.user_rows)
        self.report.start(_("员工"), people)
        self._write_people()
        self.report.advance(people)
        self.report.finish()

        total_weight = sum(a.city.weight for a in areas)
        assigned = 0
        for plan in areas:
            plan.accounts = int(spec.accounts * plan.city.weight / total_weight)
            assigned += plan.accounts
        areas[0].accounts += spec.accounts - assigned
        return areas

    def _counties(self) -> dict[str, list[tuple[str, str]]]:
        result: dict[str, list[tuple[str, str]]] = {}
        for city in data.CITIES:
            rows = list(
                Division.objects.filter(parent_id=city.city_code, level=DivisionLevel.COUNTY)
                .order_by("code")
                .values_list("code", "name")
            )
            core = [r for r in rows if r[1] in city.districts]
            chosen = core or [r for r in rows if r[1].endswith("区")] or rows
            if not chosen:
                raise Conflict(f"no counties under {city.city_code} ({city.name})", code="divisions_missing")
            result[city.slug] = chosen
        return result

    def _person(
        self,
        username: str,
        role: str,
        unit: OrgUnit,
        manager: Person | None,
        *,
        superuser: bool = False,
        employee: bool = True,
        unit_label: str = "",
    ) -> Person:
        user_id = self.writer.next_id(User)
        name = self.person_name()
        self.user_rows.append(
            (
                user_id,
                self.password_hash,
                None,
                superuser,
                username,
                name[1:],
                name[0],
                f"{username}@demo.jinggeng.dev",
                superuser,
                True,
                self.now,
            )
        )
        group = self.roles[role].group
        self.group_rows.append((user_id, group.pk))
        employee_id = None
        if employee:
            employee_id = self.writer.next_id(Employee)
            self.employee_seq += 1
            start = dt.date(2020, 1, 1) + dt.timedelta(days=self.rng.randrange(0, 5 * 365))
            self.employee_rows.append(
                (
                    employee_id,
                    self.now,
                    self.now,
                    1,
                    user_id,
                    f"E{self.employee_seq:05d}",
                    name,
                    self.roles[role].pk,
                    unit.pk,
                    manager.employee_id if manager else None,
                    self.mobile(),
                    "active",
                    start,
                    None,
                    "",
                )
            )
            self.audit(
                "org.employee",
                employee_id,
                name,
                {"code": f"E{self.employee_seq:05d}", "name": name, "role": role, "org_unit": unit.pk},
            )
        person = Person(
            user_id=user_id, employee_id=employee_id, username=username, name=name, role=role, unit_id=unit.pk
        )
        if self._is_showcase(username):
            label = str(RoleCode(role).label)
            self.users.append(DemoUser(username=username, name=name, role=label, unit=unit_label or unit.name))
        return person

    @staticmethod
    def _is_showcase(username: str) -> bool:
        return username in {
            "gm",
            "director",
            "admin",
            "marketing",
            "service",
            "rm_east",
            "rm_north",
            "am_shanghai",
            "am_beijing",
            "sup_shanghai",
            "rep_shanghai1",
            "rep_shanghai2",
            "rep_beijing1",
            "promoter_shanghai1",
            "dist_shanghai",
            "dist_beijing",
        }

    def _write_people(self) -> None:
        self.writer.write(
            User,
            [
                "id",
                "password",
                "last_login",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],
            self.user_rows,
        )
        through = User.groups.through
        self.writer.write(
            through,
            ["id", "user_id", "group_id"],
            [(self.writer.next_id(through), u, g) for u, g in self.group_rows],
        )
        self.writer.write(
            Employee,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "user_id",
                "code",
                "name",
                "role_id",
                "org_unit_id",
                "manager_id",
                "phone",
                "status",
                "start_date",
                "leave_date",
                "scope_override",
            ],
            self.employee_rows,
        )
        self.user_rows, self.group_rows, self.employee_rows = [], [], []

    # -- catalog ----------------------------------------------------------------------------

    def _build_catalog(self) -> None:
        w = self.writer
        brand_ids: dict[str, int] = {}
        brand_prefix: dict[str, str] = {}
        rows: list[tuple[Any, ...]] = []
        for code, name, name_en, is_own, prefix in data.BRANDS:
            bid = w.next_id(Brand)
            brand_ids[code], brand_prefix[code] = bid, prefix
            rows.append((bid, self.now, self.now, 1, name, name_en, code, is_own, True))
            self.audit("catalog.brand", bid, name, {"code": code, "name": name, "is_own": is_own})
        w.write(
            Brand, ["id", "created_at", "updated_at", "version", "name", "name_en", "code", "is_own", "active"], rows
        )

        cat_ids: dict[str, int] = {}
        cat_paths: dict[str, str] = {}
        rows = []
        for code, name, name_en, parent in data.CATEGORIES:
            cid = w.next_id(Category)
            cat_ids[code] = cid
            cat_paths[code] = (cat_paths[parent] if parent else "/") + f"{cid}/"
            rows.append(
                (cid, self.now, self.now, 1, name, name_en, code, cat_ids[parent] if parent else None, cat_paths[code])
            )
            self.audit("catalog.category", cid, name, {"code": code, "name": name})
        w.write(
            Category,
            ["id", "created_at", "updated_at", "version", "name", "name_en", "code", "parent_id", "path"],
            rows,
        )

        product_rows: list[tuple[Any, ...]] = []
        sku_rows: list[tuple[Any, ...]] = []
        item_no: dict[str, int] = {}
        for n, p in enumerate(data.PRODUCTS, start=1):
            pid = w.next_id(Product)
            pcode = f"P{p.brand}{n:03d}"
            product_rows.append(
                (
                    pid,
                    self.now,
                    self.now,
                    1,
                    p.name,
                    p.name_en,
                    pcode,
                    brand_ids[p.brand],
                    cat_ids[p.category],
                    p.role,
                    p.status,
                    "",
                )
            )
            self.audit("catalog.product", pid, p.name, {"code": pcode, "name": p.name, "role": p.role})
            for spec, piece, pack, case, per_pack, packs, price in p.skus:
                sid = w.next_id(Sku)
                item_no[p.brand] = item_no.get(p.brand, 0) + 1
                barcode = ean13("69" + brand_prefix[p.brand] + f"{item_no[p.brand]:05d}")
                scode = f"{pcode}-{spec}"
                status = p.status if p.status != "active" or self.rng.random() > 0.08 else "phasing_out"
                name = f"{p.name} {spec}"
                sku_rows.append(
                    (
                        sid,
                        self.now,
                        self.now,
                        1,
                        scode,
                        pid,
                        name,
                        spec,
                        barcode,
                        piece,
                        pack,
                        case,
                        per_pack,
                        packs,
                        price,
                        status,
                    )
                )
                self.audit(
                    "catalog.sku", sid, f"{scode} {name}", {"code": scode, "barcode": barcode, "base_price": str(price)}
                )
        w.write(
            Product,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "name",
                "name_en",
                "code",
                "brand_id",
                "category_id",
                "role",
                "status",
                "description",
            ],
            product_rows,
        )
        w.write(
            Sku,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "code",
                "product_id",
                "name",
                "spec",
                "barcode",
                "piece_unit",
                "pack_unit",
                "case_unit",
                "pieces_per_pack",
                "packs_per_case",
                "base_price",
                "status",
            ],
            sku_rows,
        )

    # -- accounts ---------------------------------------------------------------------------

    ACCOUNT_COLUMNS = (
        "id",
        "created_at",
        "updated_at",
        "version",
        "code",
        "name",
        "short_name",
        "name_key",
        "account_type",
        "channel_type_id",
        "grade",
        "credit_rating",
        "credit_limit",
        "tax_id",
        "phone",
        "address",
        "division_id",
        "city_code",
        "latitude",
        "longitude",
        "owner_id",
        "org_unit_id",
        "status",
        "custom",
        "notes",
        "merged_into_id",
    )
    CONTACT_COLUMNS = (
        "id",
        "created_at",
        "updated_at",
        "version",
        "account_id",
        "code",
        "name",
        "role",
        "phone",
        "email",
        "birthday",
        "is_primary",
        "notes",
    )
    LINK_COLUMNS = (
        "id",
        "created_at",
        "updated_at",
        "version",
        "supplier_id",
        "customer_id",
        "product_group_id",
        "active",
    )

    def _build_accounts(self, areas: list[Area]) -> None:
        self.channels = {c.code: c.pk for c in ChannelType.objects.all()}
        self.tags = {name: Tag.objects.get_or_create(name=name)[0].pk for name in data.TAGS}
        for key, label, label_en, account_type, field_type, choices in data.CUSTOM_FIELDS:
            CustomFieldDefinition.objects.get_or_create(
                key=key,
                account_type=account_type,
                defaults={"label": label, "label_en": label_en, "field_type": field_type, "choices": choices},
            )
        self.outlet_channels = [
            (code, suffixes) for code, _w, suffixes in data.OUTLET_CHANNELS if code in self.channels
        ]
        self.outlet_weights = [w for code, w, _s in data.OUTLET_CHANNELS if code in self.channels]
        self.account_rows: list[tuple[Any, ...]] = []
        self.contact_rows: list[tuple[Any, ...]] = []
        self.link_rows: list[tuple[Any, ...]] = []
        self.tag_rows: list[tuple[Any, ...]] = []
        self.account_user_rows: list[tuple[Any, ...]] = []
        self.report.start(_("客户"), self.spec.accounts)
        for area in areas:
            self._build_area(area)
            self._flush_accounts()
        self.report.finish()
        self._write_people()  # distributor users
        w = self.writer
        w.write(
            AccountUser,
            ["id", "user_id", "account_id"],
            [(w.next_id(AccountUser), u, a) for u, a in self.account_user_rows],
        )

    def _flush_accounts(self) -> None:
        w = self.writer
        w.write(Account, self.ACCOUNT_COLUMNS, self.account_rows)
        through = Account.tags.through
        w.write(through, ["id", "account_id", "tag_id"], [(w.next_id(through), a, t) for a, t in self.tag_rows])
        w.write(Contact, self.CONTACT_COLUMNS, self.contact_rows)
        w.write(SupplyLink, self.LINK_COLUMNS, self.link_rows)
        self._flush_audit()
        self.report.advance(len(self.account_rows))
        self.account_rows, self.tag_rows, self.contact_rows, self.link_rows = [], [], [], []

    def _build_area(self, area: Area) -> None:
        rng = self.rng
        n = area.accounts
        n_dist = self.spec.distributors_per_area
        n_key = max(1, n // 200)
        n_ent = max(1, n // 250)
        n_whole = max(4, n * 6 // 100)
        n_outlet = n - n_dist - n_key - n_ent - n_whole
        used: set[str] = set()
        self.account_names: dict[int, str] = {}
        city = area.city
        reps = area.reps

        distributors: list[int] = []
        for dist_user_no in range(1, n_dist + 1):
            word = rng.choice(data.SHOP_WORDS)
            suffix = rng.choice(("商贸有限公司", "食品有限公司", "贸易有限公司", "供应链管理有限公司", "食品经营部"))
            name = self._unique(used, f"{city.name}{word}{suffix}", area, branch=False)
            aid = self._account(
                area,
                name,
                f"{word}{suffix[:2]}",
                AccountType.DISTRIBUTOR,
                None,
                area.manager,
                grade=rng.choices("ABC", (5, 4, 1))[0],
                credit=True,
                tax=True,
                custom={"warehouse_area": rng.randrange(300, 5000, 50)},
            )
            distributors.append(aid)
            self._contacts(aid, rng.randint(1, 2), data.CONTACT_ROLES_TRADE)
            username = f"dist_{city.slug}{dist_user_no if dist_user_no > 1 else ''}"
            person = self._person(username, RoleCode.DISTRIBUTOR_USER, area.unit, None, employee=False, unit_label=name)
            self.account_user_rows.append((person.user_id, aid))

        wholesalers: list[int] = []
        for _i in range(n_whole):
            code, county = rng.choice(area.counties)
            word = rng.choice(data.SHOP_WORDS)
            kind = rng.choice(("食品批发部", "副食批发部", "粮油饮料批发部", "饮料批发中心", "商行"))
            name = self._unique(used, f"{city.name}{county}{word}{kind}", area)
            owner = rng.choice(reps)
            aid = self._account(
                area, name, f"{word}{kind[:2]}", AccountType.WHOLESALER, "wholesale_market", owner, division=code
            )
            wholesalers.append(aid)
            self._contacts(aid, rng.randint(1, 2), data.CONTACT_ROLES_TRADE)
            self._link(rng.choice(distributors), aid)

        for i in range(n_key):
            if i < len(data.HYPERMARKET_CHAINS) and rng.random() < 0.7:
                chain = data.HYPERMARKET_CHAINS[i]
                name, channel = f"{chain}{city.name}分公司", "hypermarket"
            else:
                name, channel = f"{city.name}{rng.choice(data.SHOP_WORDS)}连锁超市有限公司", "supermarket"
            name = self._unique(used, name, area)
            aid = self._account(
                area,
                name,
                name[:10],
                AccountType.KEY_ACCOUNT,
                channel,
                rng.choice(reps),
                grade="A",
                tax=True,
                credit=True,
            )
            self._contacts(aid, rng.randint(1, 2), data.CONTACT_ROLES_TRADE)
            self._link(rng.choice(distributors), aid)

        for _i in range(n_ent):
            industry = rng.choice(("科技", "电子", "物流", "建设", "医药", "机械", "纺织", "实业"))
            name = self._unique(used, f"{city.name}{rng.choice(data.SHOP_WORDS)}{industry}有限公司", area)
            aid = self._account(
                area,
                name,
                name[len(city.name) : len(city.name) + 4],
                AccountType.ENTERPRISE,
                "enterprise",
                rng.choice(reps),
                tax=True,
            )
            self._contacts(aid, rng.randint(1, 2), ("行政主管", "采购", "工会主席"))
            self._link(rng.choice(distributors), aid)

        for _i in range(n_outlet):
            ((channel, suffixes),) = rng.choices(self.outlet_channels, self.outlet_weights)
            code, county = rng.choice(area.counties)
            district = short_district(county)
            if channel == "hypermarket":
                base = f"{city.name}{district}{rng.choice(data.HYPERMARKET_CHAINS)}"
            elif channel == "convenience" and rng.random() < 0.35:
                base = f"{rng.choice(data.CONVENIENCE_CHAINS)}（{district}{rng.choice(data.ROADS)}店）"
            elif channel == "school":
                base = f"{city.name}{district}{rng.choice(data.SCHOOL_KINDS)}{rng.choice(('小卖部', '超市', '食堂'))}"
            else:
                base = f"{city.name}{district}{rng.choice(data.SHOP_WORDS)}{rng.choice(suffixes)}"
            name = self._unique(used, base, area)
            owner = rng.choice(reps)
            custom: dict[str, Any] = {}
            if rng.random() < 0.7:
                custom = {
                    "business_area": rng.randrange(15, 3000 if channel == "hypermarket" else 400, 5),
                    "freezer_count": rng.choices((0, 1, 2, 3, 4), (3, 4, 2, 1, 1))[0],
                    "store_type": rng.choice(("社区店", "社区店", "商圈店", "校园店", "交通枢纽店")),
                }
            aid = self._account(area, name, "", AccountType.OUTLET, channel, owner, division=code, custom=custom)
            if rng.random() < 0.5:
                self._contacts(aid, 1, data.CONTACT_ROLES_SHOP)
            first = rng.choice(wholesalers) if rng.random() < 0.75 else rng.choice(distributors)
            self._link(first, aid)
            if rng.random() < 0.05:
                second = rng.choice(distributors)
                if second != first:
                    self._link(second, aid)
            if len(self.account_rows) >= FLUSH_ACCOUNTS:
                self._flush_accounts()

    def _unique(self, used: set[str], base: str, area: Area, *, branch: bool = True) -> str:
        name = base
        tries = 0
        while name in used:
            tries += 1
            road = self.rng.choice(data.ROADS)
            name = f"{base}（{road}店）" if branch and tries <= 3 else f"{base}{tries}"
        used.add(name)
        return name

    def _account(
        self,
        area: Area,
        name: str,
        short_name: str,
        account_type: str,
        channel: str | None,
        owner: Person,
        *,
        division: str | None = None,
        grade: str | None = None,
        credit: bool = False,
        tax: bool = False,
        custom: dict[str, Any] | None = None,
    ) -> int:
        rng = self.rng
        w = self.writer
        aid = w.next_id(Account)
        self.account_seq += 1
        code = f"KH{self.account_seq:07d}"
        if division is None:
            division = rng.choice(area.counties)[0]
        county = next((c[1] for c in area.counties if c[0] == division), "")
        if grade is None:
            roll = rng.random()
            grade = "A" if roll < 0.2 else "B" if roll < 0.5 else "C"
        roll = rng.random()
        status = (
            AccountStatus.ACTIVE
            if roll < 0.90
            else AccountStatus.PROSPECT
            if roll < 0.94
            else AccountStatus.DORMANT
            if roll < 0.98
            else AccountStatus.CLOSED
        )
        rating, limit = "", Decimal("0")
        if credit:
            rating = rng.choices(("AAA", "AA", "A", "B"), (2, 4, 3, 1))[0]
            limit = Decimal(rng.randrange(50, 501) * 10_000)
        tax_id = ""
        if tax:
            tax_id = uscc("91" + division + "".join(rng.choice("0123456789") for _ in range(9)))
        radius = 15.0 * math.sqrt(rng.random())
        angle = rng.random() * 2 * math.pi
        lat = area.city.lat + radius * math.cos(angle) / 111.32
        lon = area.city.lon + radius * math.sin(angle) / (111.32 * math.cos(math.radians(area.city.lat)))
        address = f"{area.city.name}市{county}{rng.choice(data.ROADS)}{rng.randint(1, 999)}号"
        channel_id = self.channels.get(channel) if channel else None
        self.account_names[aid] = name
        # Accounts were opened over the last three years, about one in a hundred in the last four
        # weeks (the 3E card's new outlets); derived from the id so the random sequence is unchanged.
        opened = self.now - dt.timedelta(days=aid % 28 if aid % 97 == 0 else 28 + (aid * 7919) % (3 * 365))
        self.account_rows.append(
            (
                aid,
                opened,
                opened,
                1,
                code,
                name,
                short_name,
                normalize_name(name),
                account_type,
                channel_id,
                grade,
                rating,
                limit,
                tax_id,
                self.mobile(),
                address,
                division,
                division[:4] + "00",
                Decimal(f"{lat:.6f}"),
                Decimal(f"{lon:.6f}"),
                owner.user_id,
                owner.unit_id,
                status,
                custom or {},
                "",
                None,
            )
        )
        self.audit(
            "customers.account",
            aid,
            name,
            {
                "code": code,
                "name": name,
                "account_type": account_type,
                "grade": grade,
                "division": division,
                "owner": owner.user_id,
                "org_unit": owner.unit_id,
                "status": status,
            },
        )
        tags = self.tags
        if account_type == AccountType.KEY_ACCOUNT or (grade == "A" and rng.random() < 0.25):
            self.tag_rows.append((aid, tags["重点客户"]))
        if rng.random() < 0.05:
            self.tag_rows.append((aid, tags["新开户"]))
        if account_type == AccountType.OUTLET and grade == "A" and rng.random() < 0.15:
            self.tag_rows.append((aid, tags["样板店"]))
        return aid

    def _contacts(self, account_id: int, count: int, roles: Sequence[str]) -> None:
        for i in range(count):
            cid = self.writer.next_id(Contact)
            name = self.person_name()
            phone = self.mobile()
            self.contact_rows.append(
                (
                    cid,
                    self.now,
                    self.now,
                    1,
                    account_id,
                    None,
                    name,
                    self.rng.choice(roles),
                    phone,
                    "",
                    None,
                    i == 0,
                    "",
                )
            )
            self.audit("customers.contact", cid, name, {"account": account_id, "name": name, "phone": phone})

    def _link(self, supplier: int, customer: int) -> None:
        lid = self.writer.next_id(SupplyLink)
        self.link_rows.append((lid, self.now, self.now, 1, supplier, customer, None, True))
        names = self.account_names
        self.audit(
            "customers.supplylink",
            lid,
            f"{names.get(supplier, supplier)} → {names.get(customer, customer)}",
            {"supplier": supplier, "customer": customer},
        )


__all__ = ["PARTS", "SCALES", "DemoResult", "DemoUser", "demo_build", "demo_exists", "ean13", "uscc"]
