"""Importing and exporting products with their SKUs (jinggeng.catalog.importers)."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.utils import translation

from jinggeng.catalog.models import Product, ProductRole, ProductStatus, Sku
from jinggeng.core.tabular import registry
from jinggeng.core.tabular.engine import ATOMIC, VALID_ONLY, run_export, run_import


@pytest.fixture(autouse=True)
def _chinese():
    """Messages and headers are asserted in Chinese, whatever an earlier test activated."""
    with translation.override("zh-hans"):
        yield


HEADER = "产品编码,产品名称,品牌编码,品类编码,产品角色,产品状态,SKU 编码,SKU 名称,规格,条码,每包件数,每箱包数,基准价,SKU 状态"


def csv_file(*lines: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *lines]) + "\n").encode())


def spec():
    found = registry.import_spec("products")
    assert found is not None
    return found


def test_import_products_and_skus_with_choice_labels(catalog, marketing) -> None:
    report = run_import(
        spec(),
        csv_file(
            "P-RT,红茶,JG,TEA,形象产品,新品,RT-500,红茶 500ml,500ml,6901234567892,6,4,3.5,在售",
            "P-RT,,,,,,RT-1L,红茶 1L,1L,,,,6,",
        ),
        marketing,
        VALID_ONLY,
    )
    assert (report.created, report.refused) == (1, 1), report.errors  # the barcode is already GT-500's
    assert report.errors[0].column == "barcode"
    product = Product.objects.get(code="P-RT")
    assert product.role == ProductRole.IMAGE and product.status == ProductStatus.NEW
    assert list(product.skus.values_list("code", flat=True)) == ["RT-1L"]


def test_update_existing_sku_and_product(catalog, marketing) -> None:
    report = run_import(
        spec(), csv_file("P-GT,绿茶,JG,TEA,main,active,GT-500,绿茶 500ml 新装,,,,,3.8,"), marketing, ATOMIC
    )
    assert (report.created, report.updated, report.refused) == (0, 1, 0), report.errors
    sku = Sku.objects.get(code="GT-500")
    assert sku.name == "绿茶 500ml 新装" and str(sku.base_price) == "3.80"
    assert sku.barcode == "6901234567892"  # an empty cell leaves the value alone
    assert Product.objects.get(code="P-GT").role == ProductRole.MAIN


def test_rep_may_not_import_products(catalog, rep) -> None:
    from jinggeng.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        run_import(spec(), csv_file("P-X,X,JG,TEA,,,X-1,X,,,,,1,"), rep, ATOMIC)
    assert not Product.objects.filter(code="P-X").exists()


def test_export_round_trip(catalog, marketing) -> None:
    buffer = io.BytesIO()
    count = run_export(registry.export_spec("products"), buffer, marketing, "xlsx")
    assert count == Sku.objects.count()
    rows = list(openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(values_only=True))
    assert rows[0][0] == "产品编码"
    buffer.seek(0)
    report = run_import(spec(), buffer, marketing, ATOMIC)
    assert (report.created, report.refused) == (0, 0), report.errors
    assert report.updated == count


def test_distributor_export_hides_discontinued(catalog, distributor_user) -> None:
    buffer = io.BytesIO()
    run_export(registry.export_spec("products"), buffer, distributor_user, "csv")
    codes = sorted(line.split(",")[6] for line in buffer.getvalue().decode("utf-8-sig").splitlines()[1:])
    assert codes == ["GT-500", "W-550"]
