from decimal import Decimal

import pytest

from jinggeng.catalog import services
from jinggeng.catalog.models import Brand, Category, Product, ProductStatus, Sku
from jinggeng.catalog.tests.factories import SkuFactory
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditAction, AuditLog


def sku_data(**overrides):
    data = {
        "code": "GT-330",
        "product": "P-GT",
        "name": "绿茶 330ml",
        "spec": "330ml",
        "barcode": "4006381333931",
        "piece_unit": "罐",
        "pack_unit": "提",
        "case_unit": "箱",
        "pieces_per_pack": 6,
        "packs_per_case": 4,
        "base_price": "2.50",
        "status": "new",
    }
    data.update(overrides)
    return data


# --- conversions --------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["pieces_per_pack", "packs_per_case"])
@pytest.mark.parametrize("value", [0, -3, "0"])
def test_conversion_factors_must_be_positive(catalog, marketing, field, value):
    with pytest.raises(ValidationFailed) as exc:
        services.sku_create(actor=marketing, data=sku_data(**{field: value}))
    assert exc.value.field_errors == {field: ["换算系数必须大于 0"]}
    assert exc.value.message == "换算系数必须大于 0"
    assert not Sku.objects.filter(code="GT-330").exists()
    assert not AuditLog.objects.filter(entity="catalog.sku").exists()


def test_conversion_factor_must_be_an_integer(catalog, marketing):
    with pytest.raises(ValidationFailed) as exc:
        services.sku_create(actor=marketing, data=sku_data(pieces_per_pack="six"))
    assert exc.value.field_errors == {"pieces_per_pack": ["请输入整数"]}


def test_update_refuses_zero_factor_and_keeps_row(catalog, marketing):
    sku = catalog.gt500
    with pytest.raises(ValidationFailed) as exc:
        services.sku_update(actor=marketing, sku_id=sku.pk, data={"packs_per_case": 0})
    assert exc.value.field_errors == {"packs_per_case": ["换算系数必须大于 0"]}
    sku.refresh_from_db()
    assert (sku.packs_per_case, sku.version) == (4, 1)


def test_sku_create_saves_and_audits(catalog, marketing):
    sku = services.sku_create(actor=marketing, data=sku_data())
    assert sku.product == catalog.green_tea
    assert (sku.pieces_per_pack, sku.packs_per_case, sku.pieces_per_case) == (6, 4, 24)
    assert sku.base_price == Decimal("2.50")
    assert sku.conversion_text == "1 箱 = 4 提 = 24 罐"
    log = AuditLog.objects.get(entity="catalog.sku", entity_id=str(sku.pk))
    assert log.action == AuditAction.CREATE
    assert log.actor == marketing
    assert log.changes["barcode"] == [None, "4006381333931"]


# --- barcodes -----------------------------------------------------------------------------


@pytest.mark.parametrize("barcode", ["96385074", "036000291452", "4006381333931", "00012345678905"])
def test_valid_gtins_are_accepted(catalog, marketing, barcode):
    sku = services.sku_create(actor=marketing, data=sku_data(barcode=barcode))
    assert sku.barcode == barcode


@pytest.mark.parametrize(
    ("barcode", "message"),
    [
        ("4006381333932", "条码校验位错误：最后一位应为 1"),
        ("40063813339A1", "条码只能包含数字"),
        ("400638133393", "条码校验位错误：最后一位应为 0"),
        ("12345", "条码应为 8、12、13 或 14 位数字，当前为 5 位"),
    ],
)
def test_bad_barcodes_are_refused(catalog, marketing, barcode, message):
    with pytest.raises(ValidationFailed) as exc:
        services.sku_create(actor=marketing, data=sku_data(barcode=barcode))
    assert exc.value.field_errors == {"barcode": [message]}
    assert not Sku.objects.filter(code="GT-330").exists()


def test_barcode_must_be_unique(catalog, marketing):
    with pytest.raises(ValidationFailed) as exc:
        services.sku_create(actor=marketing, data=sku_data(barcode="6901234567892"))
    assert exc.value.field_errors == {"barcode": ["条码 6901234567892 已被 SKU GT-500 使用"]}


def test_empty_barcode_is_stored_as_null(catalog, marketing):
    a = services.sku_create(actor=marketing, data=sku_data(barcode=""))
    b = services.sku_create(actor=marketing, data=sku_data(code="GT-331", barcode=None))
    assert (a.barcode, b.barcode) == (None, None)


def test_gtin_check_digit():
    assert services.gtin_check_digit("400638133393") == 1
    assert services.barcode_error("6901234567892") is None


def test_sku_price_validation(catalog, marketing):
    for value, message in [("-1", "价格不能为负数"), ("1.234", "价格最多两位小数"), ("abc", "请输入有效的金额")]:
        with pytest.raises(ValidationFailed) as exc:
            services.sku_create(actor=marketing, data=sku_data(base_price=value))
        assert exc.value.field_errors == {"base_price": [message]}


def test_sku_unit_names_must_differ(catalog, marketing):
    with pytest.raises(ValidationFailed) as exc:
        services.sku_create(actor=marketing, data=sku_data(case_unit="提"))
    assert exc.value.field_errors == {"case_unit": ["件、包、箱的单位名称不能相同"]}


def test_sku_unknown_product_and_duplicate_code(catalog, marketing):
    with pytest.raises(ValidationFailed) as exc:
        services.sku_create(actor=marketing, data=sku_data(code="GT-500", product="NOPE"))
    assert exc.value.field_errors == {
        "code": ["编码“GT-500”已存在"],
        "product": ["产品“NOPE”不存在"],
    }
    assert exc.value.message == "提交的数据有误"


# --- sku_convert --------------------------------------------------------------------------


def test_sku_convert_both_directions(catalog):
    sku = catalog.gt500  # 1 箱 = 4 提 = 24 瓶
    assert services.sku_convert(sku=sku, quantity=2, from_unit="case", to_unit="piece") == Decimal("48")
    assert services.sku_convert(sku=sku, quantity=48, from_unit="piece", to_unit="case") == Decimal("2")
    assert services.sku_convert(sku=sku, quantity=3, from_unit="pack", to_unit="piece") == Decimal("18")
    assert services.sku_convert(sku=sku, quantity=Decimal("18"), from_unit="瓶", to_unit="提") == Decimal("3")
    assert services.sku_convert(sku=sku, quantity="1", from_unit="箱", to_unit="提") == Decimal("4")
    assert services.sku_convert(sku=sku, quantity=6, from_unit="瓶", to_unit="箱") == Decimal("0.25")
    assert services.sku_convert(sku=sku, quantity=5, from_unit="piece", to_unit="case") == Decimal("0.208333")
    assert services.sku_convert(sku=sku, quantity=7, from_unit="piece", to_unit="piece") == Decimal("7")


def test_sku_convert_unknown_unit(catalog):
    with pytest.raises(ValidationFailed) as exc:
        services.sku_convert(sku=catalog.gt500, quantity=1, from_unit="吨", to_unit="piece")
    assert exc.value.code == "unknown_unit"
    assert list(exc.value.field_errors) == ["from_unit"]
    assert "吨" in exc.value.message


def test_sku_convert_bad_quantity(catalog):
    with pytest.raises(ValidationFailed) as exc:
        services.sku_convert(sku=catalog.gt500, quantity="lots", from_unit="case", to_unit="piece")
    assert exc.value.field_errors == {"quantity": ["请输入有效的数量"]}


# --- categories ---------------------------------------------------------------------------


def test_category_create_builds_path(catalog, marketing):
    green = services.category_create(actor=marketing, data={"code": "GREEN", "name": "绿茶类", "parent": "TEA"})
    assert green.path == f"/{catalog.drink.pk}/{catalog.tea.pk}/{green.pk}/"
    top = services.category_create(actor=marketing, data={"code": "TOP", "name": "顶层"})
    assert top.path == f"/{top.pk}/"
    assert top.parent is None


def test_category_move_rewrites_subtree(catalog, marketing):
    green = services.category_create(actor=marketing, data={"code": "GREEN", "name": "绿茶类", "parent": "TEA"})
    moved = services.category_move(actor=marketing, category_id=catalog.tea.pk, new_parent="SNACK")
    assert moved.path == f"/{catalog.snack.pk}/{catalog.tea.pk}/"
    green.refresh_from_db()
    assert green.path == f"/{catalog.snack.pk}/{catalog.tea.pk}/{green.pk}/"
    catalog.tea.refresh_from_db()
    assert (catalog.tea.parent_id, catalog.tea.version) == (catalog.snack.pk, 2)
    log = AuditLog.objects.filter(entity="catalog.category", entity_id=str(catalog.tea.pk)).get()
    assert log.changes["parent"] == [catalog.drink.pk, catalog.snack.pk]
    to_top = services.category_move(actor=marketing, category_id=catalog.tea.pk, new_parent=None)
    assert to_top.path == f"/{catalog.tea.pk}/"
    green.refresh_from_db()
    assert green.path == f"/{catalog.tea.pk}/{green.pk}/"


@pytest.mark.parametrize("target", ["DRINK", "TEA", "GREEN"])
def test_category_cycle_is_refused(catalog, marketing, target):
    services.category_create(actor=marketing, data={"code": "GREEN", "name": "绿茶类", "parent": "TEA"})
    before = {c.code: (c.path, c.parent_id, c.version) for c in Category.objects.all()}
    audits = AuditLog.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.category_move(actor=marketing, category_id=catalog.drink.pk, new_parent=target)
    assert exc.value.code == "category_cycle"
    assert list(exc.value.field_errors) == ["parent"]
    assert {c.code: (c.path, c.parent_id, c.version) for c in Category.objects.all()} == before
    assert AuditLog.objects.count() == audits


def test_category_delete_refused_with_children_or_products(catalog, marketing):
    with pytest.raises(Conflict) as exc:
        services.category_delete(actor=marketing, category_id=catalog.drink.pk)
    assert exc.value.code == "category_has_children"
    with pytest.raises(Conflict) as exc:
        services.category_delete(actor=marketing, category_id=catalog.tea.pk)
    assert exc.value.code == "category_has_products"
    empty = services.category_create(actor=marketing, data={"code": "EMPTY", "name": "空"})
    services.category_delete(actor=marketing, category_id=empty.pk)
    assert not Category.objects.filter(code="EMPTY").exists()
    assert AuditLog.objects.filter(entity="catalog.category", action=AuditAction.DELETE).count() == 1


# --- brands and products ------------------------------------------------------------------


def test_brand_crud(catalog, marketing):
    brand = services.brand_create(actor=marketing, data={"code": "NEW", "name": "新品牌", "is_own": False})
    assert (brand.is_own, brand.active) == (False, True)
    brand = services.brand_update(actor=marketing, brand_id=brand.pk, data={"active": False}, expected_version=1)
    assert (brand.active, brand.version) == (False, 2)
    with pytest.raises(Conflict) as exc:
        services.brand_delete(actor=marketing, brand_id=catalog.brand.pk)
    assert exc.value.code == "brand_in_use"
    services.brand_delete(actor=marketing, brand_id=brand.pk)
    assert not Brand.objects.filter(code="NEW").exists()


def test_product_create_requires_fields(catalog, marketing):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=marketing, data={"code": "X", "role": "hero"})
    assert exc.value.field_errors == {
        "name": ["此项必填"],
        "brand": ["此项必填"],
        "category": ["此项必填"],
        "role": ["无效的选项：hero"],
    }
    assert not Product.objects.filter(code="X").exists()


def test_product_update_and_version_conflict(catalog, marketing):
    product = services.product_update(
        actor=marketing,
        product_id=catalog.water.pk,
        data={"name": "天然矿泉水", "category": "TEA"},
        expected_version=1,
    )
    assert (product.name, product.category, product.version) == ("天然矿泉水", catalog.tea, 2)
    log = AuditLog.objects.get(entity="catalog.product", entity_id=str(product.pk))
    assert log.changes == {"name": ["矿泉水", "天然矿泉水"], "category": [catalog.drink.pk, catalog.tea.pk]}
    with pytest.raises(Conflict) as exc:
        services.product_update(actor=marketing, product_id=product.pk, data={"name": "旧"}, expected_version=1)
    assert exc.value.code == "version_conflict"
    product.refresh_from_db()
    assert (product.name, product.version) == ("天然矿泉水", 2)


def test_product_update_without_changes_writes_nothing(catalog, marketing):
    product = services.product_update(actor=marketing, product_id=catalog.water.pk, data={"name": "矿泉水"})
    assert product.version == 1
    assert not AuditLog.objects.filter(entity="catalog.product").exists()


def test_product_delete_refused_while_skus_exist(catalog, marketing):
    with pytest.raises(Conflict) as exc:
        services.product_delete(actor=marketing, product_id=catalog.green_tea.pk)
    assert exc.value.code == "product_has_skus"
    assert "已停产" in exc.value.message
    assert Product.objects.filter(pk=catalog.green_tea.pk).exists()
    product = services.product_create(
        actor=marketing, data={"code": "P-NEW", "name": "新品", "brand": "JG", "category": "TEA"}
    )
    services.product_delete(actor=marketing, product_id=product.pk)
    assert not Product.objects.filter(code="P-NEW").exists()


def test_sku_delete(catalog, marketing):
    sku = SkuFactory(product=catalog.water, code="W-TMP")
    services.sku_delete(actor=marketing, sku_id=sku.pk)
    assert not Sku.objects.filter(code="W-TMP").exists()
    log = AuditLog.objects.get(entity="catalog.sku", action=AuditAction.DELETE)
    assert log.entity_id == str(sku.pk)


# --- permissions --------------------------------------------------------------------------


def test_rep_cannot_write_the_catalog(catalog, rep):
    with pytest.raises(PermissionDenied):
        services.product_create(actor=rep, data={"code": "P-REP", "name": "私货", "brand": "JG", "category": "TEA"})
    with pytest.raises(PermissionDenied):
        services.product_update(actor=rep, product_id=catalog.water.pk, data={"name": "改名"})
    with pytest.raises(PermissionDenied):
        services.sku_update(actor=rep, sku_id=catalog.gt500.pk, data={"base_price": "9.99"})
    with pytest.raises(PermissionDenied):
        services.category_delete(actor=rep, category_id=catalog.snack.pk)
    assert not Product.objects.filter(code="P-REP").exists()
    catalog.water.refresh_from_db()
    catalog.gt500.refresh_from_db()
    assert (catalog.water.name, catalog.gt500.base_price) == ("矿泉水", Decimal("3.50"))
    assert not AuditLog.objects.exists()


def test_user_without_profile_gets_not_found(catalog, no_profile_user):
    with pytest.raises(NotFound):
        services.product_update(actor=no_profile_user, product_id=catalog.water.pk, data={"name": "改名"})
    with pytest.raises(PermissionDenied):
        services.brand_create(actor=no_profile_user, data={"code": "X", "name": "X"})
    assert not AuditLog.objects.exists()


def test_administrator_can_write(catalog, administrator):
    product = services.product_update(
        actor=administrator, product_id=catalog.water.pk, data={"status": ProductStatus.PHASING_OUT}
    )
    assert product.status == ProductStatus.PHASING_OUT


def test_employee_who_left_sees_nothing(catalog, rep):
    from jinggeng.catalog import selectors
    from jinggeng.org.models import EmployeeStatus

    assert len(selectors.product_list(actor=rep).items) == 3
    rep.employee.status = EmployeeStatus.LEFT
    rep.employee.save(update_fields=["status"])
    assert selectors.product_list(actor=rep).items == []
    with pytest.raises(NotFound):
        selectors.product_get(actor=rep, id=catalog.water.pk)


def test_superuser_without_profile_sees_everything(catalog, django_user_model):
    from jinggeng.catalog import selectors

    root = django_user_model.objects.create_superuser("root", "root@example.com", "pass-1234-word")
    assert [p.code for p in selectors.product_list(actor=root).items] == ["P-GT", "P-OLD", "P-WATER"]
