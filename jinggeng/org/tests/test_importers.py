"""Importing and exporting employees (jinggeng.org.importers)."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.utils import translation

from jinggeng.core.models import AuditLog
from jinggeng.core.tabular import registry
from jinggeng.core.tabular.engine import ATOMIC, DRY_RUN, VALID_ONLY, run_export, run_import
from jinggeng.org.models import Employee, EmployeeStatus


@pytest.fixture(autouse=True)
def _chinese():
    """Messages and headers are asserted in Chinese, whatever an earlier test activated."""
    with translation.override("zh-hans"):
        yield


HEADER = "工号,用户名,姓名,邮箱,手机,角色,组织单元编码,上级工号,入职日期,状态"


def csv_file(*lines: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *lines]) + "\n").encode())


def spec():
    found = registry.import_spec("employees")
    assert found is not None
    return found


ROWS = [
    "E100,zhaoliu,赵六,zl@example.com,13912345678,业务员,A-SH,,2024-03-01,在职",
    "E101,qianqi,钱七,,,rep,A-SH,E100,,active",
]


@pytest.fixture
def staff(administrator, area_manager, outsider):
    return administrator, area_manager, outsider


def test_import_creates_employees_with_users_and_managers(staff, administrator) -> None:
    report = run_import(spec(), csv_file(*ROWS), administrator, ATOMIC)
    assert (report.created, report.updated, report.refused) == (2, 0, 0), report.errors
    zhao = Employee.objects.select_related("user", "role").get(code="E100")
    assert zhao.user.username == "zhaoliu" and zhao.user.email == "zl@example.com"
    assert zhao.role.code == "rep" and zhao.org_unit.code == "A-SH"
    assert str(zhao.start_date) == "2024-03-01" and zhao.status == EmployeeStatus.ACTIVE
    assert Employee.objects.get(code="E101").manager == zhao
    assert AuditLog.objects.filter(entity="org.employee", action="create").count() == 2


def test_dry_run_writes_nothing(staff, administrator) -> None:
    count = Employee.objects.count()
    report = run_import(spec(), csv_file(*ROWS), administrator, DRY_RUN)
    assert (report.created, report.refused) == (2, 0)
    assert Employee.objects.count() == count
    assert not AuditLog.objects.filter(entity="org.employee").exists()


def test_bad_rows_name_their_cells_and_atomic_writes_nothing(staff, administrator) -> None:
    bad = "E102,sunba,孙八,not-an-email,123,厨师,NOPE,,2024-13-01,"
    count = Employee.objects.count()
    report = run_import(spec(), csv_file(*ROWS, bad), administrator, ATOMIC)
    assert report.blocked and Employee.objects.count() == count
    assert {e.column for e in report.errors if e.row == 4} >= {"role"}
    report = run_import(spec(), csv_file(ROWS[0], "E103,,,,,,,,,"), administrator, VALID_ONLY)
    assert (report.created, report.refused) == (1, 1)
    assert {e.column for e in report.errors} == {"username", "name", "role", "org_unit"}


def test_service_errors_are_reported_per_cell(staff, administrator) -> None:
    bad = "E102,sunba,孙八,not-an-email,123,业务员,A-SH,,2024-13-01,"
    report = run_import(spec(), csv_file(bad), administrator, DRY_RUN)
    assert {e.column for e in report.errors} == {"email", "phone", "start_date"}
    assert not Employee.objects.filter(code="E102").exists()


def test_reimport_updates_instead_of_duplicating(staff, administrator) -> None:
    run_import(spec(), csv_file(*ROWS), administrator, ATOMIC)
    count = Employee.objects.count()
    report = run_import(spec(), csv_file("E100,,赵六六,,13912340000,,,,,"), administrator, ATOMIC)
    assert (report.created, report.updated) == (0, 1)
    assert Employee.objects.count() == count
    zhao = Employee.objects.get(code="E100")
    assert zhao.name == "赵六六" and zhao.phone == "13912340000" and zhao.role.code == "rep"
    changed = run_import(spec(), csv_file("E100,someoneelse,赵六六,,,,,,,"), administrator, VALID_ONLY)
    assert changed.refused == 1 and changed.errors[0].column == "username"


def test_outsider_cannot_touch_another_regions_employee(staff, outsider, area_manager) -> None:
    from jinggeng.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):  # regional managers have no org.add_employee
        run_import(spec(), csv_file("E100,x,x,,,rep,A-BJ,,,"), outsider, ATOMIC)


def test_export_is_scoped(staff, outsider, administrator) -> None:
    exporter = registry.export_spec("employees")
    buffer = io.BytesIO()
    run_export(exporter, buffer, outsider, "xlsx", filters={"org_unit": "R-NORTH"})
    rows = list(openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["rm_north"]
    buffer = io.BytesIO()
    run_export(exporter, buffer, administrator, "xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(values_only=True))
    assert len(rows) - 1 == Employee.objects.count()
