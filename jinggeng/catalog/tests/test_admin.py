import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from jinggeng.catalog.models import Category, Sku
from jinggeng.core.models import AuditAction, AuditLog


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pass-1234-word")


@pytest.mark.parametrize("model", ["brand", "category", "product", "sku"])
def test_admin_pages_render(catalog, superuser, client_for, model):
    client = client_for(superuser)
    assert client.get(reverse(f"admin:catalog_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:catalog_{model}_add")).status_code == 200


def test_admin_product_change_shows_sku_inline(catalog, superuser, client_for):
    response = client_for(superuser).get(reverse("admin:catalog_product_change", args=[catalog.green_tea.pk]))
    assert response.status_code == 200
    assert "GT-500" in response.content.decode()


def test_admin_category_add_and_move_keep_paths(catalog, superuser, client_for):
    client = client_for(superuser)
    response = client.post(
        reverse("admin:catalog_category_add"),
        {"code": "GREEN", "name": "绿茶类", "name_en": "", "parent": catalog.tea.pk},
    )
    assert response.status_code == 302
    green = Category.objects.get(code="GREEN")
    assert green.path == f"/{catalog.drink.pk}/{catalog.tea.pk}/{green.pk}/"
    assert AuditLog.objects.filter(entity="catalog.category", entity_id=str(green.pk)).count() == 1
    response = client.post(
        reverse("admin:catalog_category_change", args=[catalog.tea.pk]),
        {"code": "TEA", "name": "茶饮料", "name_en": "", "parent": catalog.snack.pk},
    )
    assert response.status_code == 302
    green.refresh_from_db()
    assert green.path == f"/{catalog.snack.pk}/{catalog.tea.pk}/{green.pk}/"
    log = AuditLog.objects.get(entity="catalog.category", entity_id=str(catalog.tea.pk), action=AuditAction.UPDATE)
    assert log.changes["parent"] == [catalog.drink.pk, catalog.snack.pk]
    # a cycle is refused
    response = client.post(
        reverse("admin:catalog_category_change", args=[catalog.snack.pk]),
        {"code": "SNACK", "name": "零食", "name_en": "", "parent": green.pk},
    )
    assert response.status_code == 200
    assert "不能把品类移到它自己或它的下级之下" in response.content.decode()
    catalog.snack.refresh_from_db()
    assert catalog.snack.parent_id is None


def test_admin_sku_barcode_checked(catalog, superuser, client_for):
    data = {
        "code": "W-X",
        "product": catalog.water.pk,
        "name": "x",
        "spec": "",
        "barcode": "4006381333932",
        "piece_unit": "瓶",
        "pack_unit": "提",
        "case_unit": "箱",
        "pieces_per_pack": 6,
        "packs_per_case": 4,
        "base_price": "1.00",
        "status": "active",
    }
    response = client_for(superuser).post(reverse("admin:catalog_sku_add"), data)
    assert response.status_code == 200
    assert "条码校验位错误" in response.content.decode()
    assert not Sku.objects.filter(code="W-X").exists()
    response = client_for(superuser).post(reverse("admin:catalog_sku_add"), {**data, "barcode": "4006381333931"})
    assert response.status_code == 302
    sku = Sku.objects.get(code="W-X")
    assert AuditLog.objects.filter(entity="catalog.sku", entity_id=str(sku.pk), action=AuditAction.CREATE).count() == 1
