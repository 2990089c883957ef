from decimal import Decimal

import pytest
from django.urls import reverse

from jinggeng.catalog.models import Brand, Category, Product, Sku
from jinggeng.catalog.tests.factories import ProductFactory
from jinggeng.core.models import AuditLog

HX = {"HTTP_HX_REQUEST": "true"}


def html(response):
    return response.content.decode()


# --- product list -------------------------------------------------------------------------


def test_product_list_page(catalog, rep, client_for, django_assert_max_num_queries):
    client = client_for(rep)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("catalog:product_list"))
    assert response.status_code == 200
    page = html(response)
    assert "<html" in page
    for code in ("P-GT", "P-WATER", "P-OLD"):
        assert code in page
    assert reverse("catalog:product_create") not in page  # a rep cannot add products


def test_product_list_query_count_does_not_grow(catalog, rep, client_for, django_assert_max_num_queries):
    for i in range(20):
        ProductFactory(code=f"P-MANY{i:02d}", brand=catalog.brand, category=catalog.snack)
    client = client_for(rep)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("catalog:product_list")).status_code == 200


def test_product_list_filters_and_htmx_rows(catalog, rep, client_for):
    client = client_for(rep)
    response = client.get(reverse("catalog:product_list"), {"category": "DRINK", "q": "绿"}, **HX)
    page = html(response)
    assert "<html" not in page
    assert "P-GT" in page
    assert "P-WATER" not in page
    assert "P-OLD" not in page
    page = html(client.get(reverse("catalog:product_list"), {"q": "6901234567892"}))
    assert "P-GT" in page and "P-WATER" not in page
    page = html(client.get(reverse("catalog:product_list"), {"status": "discontinued", "role": "main"}))
    assert "P-OLD" in page and "P-GT" not in page


def test_product_list_cursor_pages(catalog, rep, client_for, settings):
    settings.PAGE_SIZE_DEFAULT = 2
    client = client_for(rep)
    response = client.get(reverse("catalog:product_list"))
    page = response.context["page"]
    assert [p.code for p in page.items] == ["P-GT", "P-OLD"]
    assert 'rel="next"' in html(response)
    second = client.get(reverse("catalog:product_list"), {"cursor": page.next_cursor}, **HX)
    assert [p.code for p in second.context["page"].items] == ["P-WATER"]
    assert 'rel="next"' not in html(second)


def test_product_list_bad_sort_falls_back(catalog, rep, client_for):
    response = client_for(rep).get(reverse("catalog:product_list"), {"sort": "password"})
    assert response.status_code == 200
    assert "不支持的排序字段" in html(response)


def test_product_list_empty_for_user_without_profile(catalog, no_profile_user, client_for):
    response = client_for(no_profile_user).get(reverse("catalog:product_list"))
    assert response.status_code == 200
    assert list(response.context["page"].items) == []
    assert "P-GT" not in html(response)


def test_login_required(catalog, client):
    response = client.get(reverse("catalog:product_list"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- product detail -----------------------------------------------------------------------


def test_product_detail_shows_skus_units_and_history(catalog, marketing, client_for):
    client = client_for(marketing)
    client.post(
        reverse("catalog:product_edit", args=[catalog.green_tea.pk]),
        {
            "code": "P-GT",
            "name": "茉莉绿茶",
            "brand": "JG",
            "category": "TEA",
            "role": "image",
            "status": "active",
            "version": "1",
        },
    )
    response = client.get(reverse("catalog:product_detail", args=[catalog.green_tea.pk]))
    assert response.status_code == 200
    page = html(response)
    assert "1 箱 = 4 提 = 24 瓶" in page
    assert "GT-500" in page and "GT-1L" in page
    assert "茉莉绿茶" in page
    assert "名称: 绿茶 → 茉莉绿茶" in page  # history, with the field's verbose name
    assert reverse("catalog:sku_create", args=[catalog.green_tea.pk]) in page


def test_product_detail_404_for_user_without_profile(catalog, no_profile_user, client_for):
    response = client_for(no_profile_user).get(reverse("catalog:product_detail", args=[catalog.water.pk]))
    assert response.status_code == 404


def test_product_detail_distributor_rules(catalog, distributor_user, client_for):
    client = client_for(distributor_user)
    assert client.get(reverse("catalog:product_detail", args=[catalog.old.pk])).status_code == 404
    page = html(client.get(reverse("catalog:product_detail", args=[catalog.green_tea.pk])))
    assert "GT-500" in page
    assert "GT-1L" not in page
    listing = client.get(reverse("catalog:product_list"))
    assert [p.code for p in listing.context["page"].items] == ["P-GT", "P-WATER"]


# --- product create / edit ----------------------------------------------------------------


def product_post(**overrides):
    data = {
        "code": "P-NEW",
        "name": "乌龙茶",
        "name_en": "Oolong",
        "brand": "JG",
        "category": "TEA",
        "role": "follower",
        "status": "new",
        "description": "",
    }
    data.update(overrides)
    return data


def test_product_create_page(catalog, marketing, client_for):
    client = client_for(marketing)
    assert client.get(reverse("catalog:product_create")).status_code == 200
    response = client.post(reverse("catalog:product_create"), product_post())
    product = Product.objects.get(code="P-NEW")
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:product_detail", args=[product.pk])
    assert (product.brand, product.category, product.role) == (catalog.brand, catalog.tea, "follower")
    assert AuditLog.objects.filter(entity="catalog.product", entity_id=str(product.pk)).count() == 1


def test_product_create_htmx_success_redirects(catalog, marketing, client_for):
    response = client_for(marketing).post(reverse("catalog:product_create"), product_post(), **HX)
    product = Product.objects.get(code="P-NEW")
    assert response["HX-Redirect"] == reverse("catalog:product_detail", args=[product.pk])


def test_product_create_errors_shown_nothing_saved(catalog, marketing, client_for):
    response = client_for(marketing).post(
        reverse("catalog:product_create"), product_post(code="P-GT", name="", brand=""), **HX
    )
    assert response.status_code == 200
    page = html(response)
    assert "<html" not in page and "<form" in page
    assert "编码“P-GT”已存在" in page
    assert "此项必填" in page
    assert Product.objects.count() == 3
    assert not AuditLog.objects.exists()


def test_inline_validation_does_not_save(catalog, marketing, client_for):
    client = client_for(marketing)
    data = product_post(code="P-GT", name="", _validate="1")
    response = client.post(reverse("catalog:product_create"), data, HTTP_HX_TRIGGER_NAME="code", **HX)
    page = html(response)
    assert "编码“P-GT”已存在" in page
    assert "此项必填" not in page  # untouched empty field: no error yet
    valid = client.post(reverse("catalog:product_create"), product_post(_validate="1"), **HX)
    assert valid.status_code == 200
    assert "errorlist" not in html(valid)
    assert not Product.objects.filter(code="P-NEW").exists()
    assert not AuditLog.objects.exists()


def test_product_edit_version_conflict(catalog, marketing, client_for):
    client = client_for(marketing)
    url = reverse("catalog:product_edit", args=[catalog.water.pk])
    data = product_post(code="P-WATER", name="水", category="DRINK", version="1")
    assert client.post(url, data).status_code == 302
    response = client.post(url, {**data, "name": "冲突"})
    assert response.status_code == 200
    assert "记录已被他人修改" in html(response)
    catalog.water.refresh_from_db()
    assert (catalog.water.name, catalog.water.version) == ("水", 2)


def test_rep_cannot_open_or_post_product_forms(catalog, rep, client_for):
    client = client_for(rep)
    assert client.get(reverse("catalog:product_create")).status_code == 403
    assert client.post(reverse("catalog:product_create"), product_post()).status_code == 403
    url = reverse("catalog:product_edit", args=[catalog.water.pk])
    assert client.post(url, product_post(code="P-WATER", name="改")).status_code == 403
    assert not Product.objects.filter(code="P-NEW").exists()
    catalog.water.refresh_from_db()
    assert catalog.water.name == "矿泉水"
    assert not AuditLog.objects.exists()


def test_user_without_profile_gets_404_on_edit(catalog, no_profile_user, client_for):
    url = reverse("catalog:product_edit", args=[catalog.water.pk])
    assert client_for(no_profile_user).post(url, product_post(code="P-WATER")).status_code == 404
    catalog.water.refresh_from_db()
    assert catalog.water.name == "矿泉水"


def test_product_delete_page(catalog, marketing, client_for):
    client = client_for(marketing)
    response = client.post(reverse("catalog:product_delete", args=[catalog.green_tea.pk]), follow=True)
    assert "已停产" in html(response)
    assert Product.objects.filter(pk=catalog.green_tea.pk).exists()
    empty = ProductFactory(code="P-EMPTY", brand=catalog.brand, category=catalog.snack)
    response = client.post(reverse("catalog:product_delete", args=[empty.pk]))
    assert response["Location"] == reverse("catalog:product_list")
    assert not Product.objects.filter(pk=empty.pk).exists()


# --- SKUs ---------------------------------------------------------------------------------


def sku_post(**overrides):
    data = {
        "code": "W-1L",
        "name": "矿泉水 1.5L",
        "spec": "1.5L",
        "barcode": "4006381333931",
        "piece_unit": "瓶",
        "pack_unit": "提",
        "case_unit": "箱",
        "pieces_per_pack": "6",
        "packs_per_case": "2",
        "base_price": "4.00",
        "status": "active",
    }
    data.update(overrides)
    return data


def test_sku_create_page(catalog, marketing, client_for):
    client = client_for(marketing)
    url = reverse("catalog:sku_create", args=[catalog.water.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, sku_post())
    assert response.status_code == 302
    sku = Sku.objects.get(code="W-1L")
    assert (sku.product, sku.pieces_per_case, sku.base_price) == (catalog.water, 12, Decimal("4.00"))


def test_sku_create_page_errors(catalog, marketing, client_for):
    url = reverse("catalog:sku_create", args=[catalog.water.pk])
    response = client_for(marketing).post(url, sku_post(pieces_per_pack="0", barcode="4006381333932"), **HX)
    page = html(response)
    assert "换算系数必须大于 0" in page
    assert "条码校验位错误：最后一位应为 1" in page
    assert 'id="id_pieces_per_pack_errors"' in page
    assert not Sku.objects.filter(code="W-1L").exists()


def test_sku_edit_page(catalog, marketing, client_for):
    client = client_for(marketing)
    url = reverse("catalog:sku_edit", args=[catalog.gt500.pk])
    page = html(client.get(url))
    assert "1 箱 = 4 提 = 24 瓶" in page
    data = sku_post(
        code="GT-500",
        name="绿茶 500ml",
        barcode="6901234567892",
        packs_per_case="3",
        pieces_per_pack="6",
        base_price="3.50",
        version="1",
    )
    assert client.post(url, data).status_code == 302
    catalog.gt500.refresh_from_db()
    assert (catalog.gt500.packs_per_case, catalog.gt500.version) == (3, 2)
    assert "每箱包数" in html(client.get(url)) or "packs_per_case" in html(client.get(url))


def test_rep_cannot_edit_sku(catalog, rep, client_for):
    url = reverse("catalog:sku_edit", args=[catalog.gt500.pk])
    client = client_for(rep)
    assert client.get(url).status_code == 403
    assert client.post(url, sku_post(code="GT-500", base_price="0.01")).status_code == 403
    catalog.gt500.refresh_from_db()
    assert catalog.gt500.base_price == Decimal("3.50")


def test_sku_delete_page(catalog, marketing, client_for):
    response = client_for(marketing).post(reverse("catalog:sku_delete", args=[catalog.gt1l.pk]))
    assert response["Location"] == reverse("catalog:product_detail", args=[catalog.green_tea.pk])
    assert not Sku.objects.filter(pk=catalog.gt1l.pk).exists()


# --- brands and categories ----------------------------------------------------------------


def test_brand_pages(catalog, marketing, client_for):
    client = client_for(marketing)
    page = html(client.get(reverse("catalog:brand_list")))
    assert "JG" in page and "RIVAL" in page
    response = client.post(
        reverse("catalog:brand_create"), {"code": "NB", "name": "新品牌", "is_own": "on", "active": "on"}
    )
    assert response["Location"] == reverse("catalog:brand_list")
    brand = Brand.objects.get(code="NB")
    assert (brand.is_own, brand.active) == (True, True)
    url = reverse("catalog:brand_edit", args=[brand.pk])
    assert client.post(url, {"code": "NB", "name": "新品牌", "version": "1"}).status_code == 302
    brand.refresh_from_db()
    assert (brand.is_own, brand.active, brand.version) == (False, False, 2)
    assert "新品牌" in html(client.get(url))
    rows = client.get(reverse("catalog:brand_list"), {"q": "RIV"}, **HX)
    assert "RIVAL" in html(rows) and "<html" not in html(rows)


def test_rep_brand_list_without_actions(catalog, rep, client_for):
    client = client_for(rep)
    page = html(client.get(reverse("catalog:brand_list")))
    assert "JG" in page
    assert reverse("catalog:brand_create") not in page
    assert client.get(reverse("catalog:brand_create")).status_code == 403


def test_category_tree_page(catalog, marketing, client_for):
    client = client_for(marketing)
    response = client.get(reverse("catalog:category_list"))
    nodes = response.context["nodes"]
    assert [(n.category.code, n.depth) for n in nodes] == [("DRINK", 0), ("TEA", 1), ("SNACK", 0)]
    assert 'data-depth="1"' in html(response)


def test_category_move_page_and_cycle(catalog, marketing, client_for):
    client = client_for(marketing)
    url = reverse("catalog:category_edit", args=[catalog.drink.pk])
    form_page = html(client.get(url))
    assert 'value="TEA"' not in form_page  # cannot choose its own subtree
    response = client.post(url, {"code": "DRINK", "name": "饮料", "parent": "TEA", "version": "1"}, **HX)
    assert 'id="id_parent_errors"' in html(response)  # its own subtree is not a valid choice
    catalog.drink.refresh_from_db()
    assert catalog.drink.parent_id is None
    response = client.post(
        reverse("catalog:category_edit", args=[catalog.tea.pk]),
        {"code": "TEA", "name": "茶饮料", "parent": "SNACK", "version": "1"},
    )
    assert response.status_code == 302
    catalog.tea.refresh_from_db()
    assert catalog.tea.path == f"/{catalog.snack.pk}/{catalog.tea.pk}/"


def test_category_create_and_delete_pages(catalog, marketing, client_for):
    client = client_for(marketing)
    assert 'value="TEA" selected' in html(client.get(reverse("catalog:category_create"), {"parent": "TEA"}))
    response = client.post(reverse("catalog:category_create"), {"code": "GREEN", "name": "绿茶类", "parent": "TEA"})
    assert response.status_code == 302
    green = Category.objects.get(code="GREEN")
    assert green.parent == catalog.tea
    response = client.post(reverse("catalog:category_delete", args=[catalog.tea.pk]), follow=True)
    assert "该品类下还有子品类" in html(response)
    client.post(reverse("catalog:category_delete", args=[green.pk]))
    assert not Category.objects.filter(code="GREEN").exists()


@pytest.mark.parametrize("name", ["catalog:brand_list", "catalog:category_list"])
def test_lists_empty_without_profile(catalog, no_profile_user, client_for, name):
    response = client_for(no_profile_user).get(reverse(name))
    assert response.status_code == 200
    page = html(response)
    # Match the code cells, not bare codes: a random CSRF token in the page can contain "JG".
    assert ">JG</td>" not in page and ">DRINK</td>" not in page and ">饮料<" not in page
    assert 'class="muted"' in page


def test_outsider_reads_but_cannot_write(catalog, outsider, client_for):
    """The catalog is company-wide reference data: another region's manager sees it, and
    cannot change it (no catalog permission): 403 and nothing changed."""
    client = client_for(outsider)
    assert client.get(reverse("catalog:product_detail", args=[catalog.water.pk])).status_code == 200
    url = reverse("catalog:product_edit", args=[catalog.water.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, product_post(code="P-WATER", name="改", version="1")).status_code == 403
    assert client.post(reverse("catalog:sku_delete", args=[catalog.water550.pk])).status_code == 403
    catalog.water.refresh_from_db()
    assert (catalog.water.name, catalog.water.version) == ("矿泉水", 1)
    assert Sku.objects.filter(pk=catalog.water550.pk).exists()
    assert not AuditLog.objects.exists()
