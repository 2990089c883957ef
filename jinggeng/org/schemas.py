"""JSON shapes of the org API. Related records are referenced by code on input."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from jinggeng.org.models import Division, Employee, OrgUnit, Territory


class OrgUnitOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    kind: str
    parent_id: int | None
    parent_code: str | None
    path: str
    depth: int
    active: bool
    version: int

    @staticmethod
    def resolve_parent_code(obj: OrgUnit) -> str | None:
        return obj.parent.code if obj.parent_id and obj.parent else None


class OrgUnitCreateIn(Schema):
    code: str
    name: str
    name_en: str = ""
    kind: str = "team"
    parent: str | None = Field(None, description="code of the parent unit; empty for a top-level unit")
    active: bool = True


class OrgUnitPatchIn(Schema):
    code: str | None = None
    name: str | None = None
    name_en: str | None = None
    kind: str | None = None
    parent: str | None = None
    active: bool | None = None
    version: int | None = Field(None, description="the version you read; 409 when it changed")


class OrgUnitMoveIn(Schema):
    parent_id: int | None = Field(..., description="id of the new parent unit; null for top level")


class EmployeeOut(Schema):
    id: int
    code: str
    name: str
    username: str
    email: str
    role: str
    role_name: str
    org_unit_id: int
    org_unit_code: str
    manager_id: int | None
    manager_code: str | None
    phone: str
    status: str
    start_date: dt.date | None
    leave_date: dt.date | None
    scope_override: str
    scope_level: str
    version: int

    @staticmethod
    def resolve_username(obj: Employee) -> str:
        return obj.user.get_username()

    @staticmethod
    def resolve_email(obj: Employee) -> str:
        return str(getattr(obj.user, "email", "") or "")

    @staticmethod
    def resolve_role(obj: Employee) -> str:
        return obj.role.code

    @staticmethod
    def resolve_role_name(obj: Employee) -> str:
        return str(obj.role)

    @staticmethod
    def resolve_org_unit_code(obj: Employee) -> str:
        return obj.org_unit.code

    @staticmethod
    def resolve_manager_code(obj: Employee) -> str | None:
        return obj.manager.code if obj.manager_id and obj.manager else None


class EmployeeCreateIn(Schema):
    username: str
    email: str = ""
    password: str | None = None
    code: str
    name: str
    role: str = Field(..., description="role code, e.g. rep")
    org_unit: str = Field(..., description="org unit code")
    manager: str | None = Field(None, description="the manager's employee code")
    phone: str = ""
    start_date: dt.date | None = None
    status: str = "active"
    scope_override: str = ""


class EmployeePatchIn(Schema):
    email: str | None = None
    code: str | None = None
    name: str | None = None
    role: str | None = None
    org_unit: str | None = None
    manager: str | None = None
    phone: str | None = None
    start_date: dt.date | None = None
    status: str | None = None
    scope_override: str | None = None
    version: int | None = Field(None, description="the version you read; 409 when it changed")


class EmployeeLeaveIn(Schema):
    leave_date: dt.date
    reason: str = ""


class TerritoryOut(Schema):
    id: int
    code: str
    name: str
    org_unit_id: int
    org_unit_code: str
    divisions: list[str]
    active: bool
    version: int

    @staticmethod
    def resolve_org_unit_code(obj: Territory) -> str:
        return obj.org_unit.code

    @staticmethod
    def resolve_divisions(obj: Territory) -> list[str]:
        return sorted(d.code for d in obj.divisions.all())


class TerritoryCreateIn(Schema):
    code: str
    name: str
    org_unit: str = Field(..., description="org unit code")
    divisions: list[str] = Field(default_factory=list, description="GB/T 2260 six-digit codes")
    active: bool = True


class TerritoryPatchIn(Schema):
    code: str | None = None
    name: str | None = None
    org_unit: str | None = None
    divisions: list[str] | None = None
    active: bool | None = None
    version: int | None = Field(None, description="the version you read; 409 when it changed")


class DivisionOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None
    full_name: str

    @staticmethod
    def resolve_parent(obj: Division) -> str | None:
        return obj.parent_id


class RoleOut(Schema):
    code: str
    name: str
    default_scope: str
    group_id: int

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj)


class RolePatchIn(Schema):
    default_scope: str


def patch_data(payload: Schema, *, exclude: tuple[str, ...] = ("version",)) -> dict[str, Any]:
    """The fields a client sent, without the control fields."""
    data = payload.dict(exclude_unset=True)
    for name in exclude:
        data.pop(name, None)
    return data
