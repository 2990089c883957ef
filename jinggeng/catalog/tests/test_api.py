import json

import pytest

from jinggeng.catalog.models import Brand, Category, Product, Sku
from jinggeng.catalog.tests.factories import ProductFactory
from jinggeng.core.models import AuditAction, AuditLog

API = "/api/v1/catalog"


def send(client, method, url, body=None):
    return getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "code", "errors"}
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://jinggeng.dev/problems/{code}"
    return body


# --- products -----------------------------------------------------------------------------


def test_product_list_and_filters(catalog, rep, client_for, django_assert_max_num_queries):
    client = client_for(rep)
    with django_assert_max_num_queries(8):
        response = client.get(f"{API}/products")
    assert response.status_code == 200
    body = response.json()
    assert [p["code"] for p in body["items"]] == ["P-GT", "P-OLD", "P-WATER"]
    assert body["next_cursor"] is None
    gt = body["items"][0]
    assert (gt["brand"], gt["category"], gt["role"], gt["sku_count"]) == ("JG", "TEA", "image", 2)

    def codes(**params):
        r = client.get(f"{API}/products", params)
        assert r.status_code == 200
        return [p["code"] for p in r.json()["items"]]

    assert codes(category="DRINK") == ["P-GT", "P-WATER"]  # the subtree
    assert codes(category="TEA") == ["P-GT"]
    assert codes(category="NOPE") == []
    assert codes(brand="RIVAL") == []
    assert codes(role="image") == ["P-GT"]
    assert codes(status="discontinued") == ["P-OLD"]
    assert codes(q="6901234567892") == ["P-GT"]  # SKU barcode
    assert codes(q="W-55") == ["P-WATER"]  # SKU code
    assert codes(q="饼干") == ["P-OLD"]
    assert codes(sort="-code") == ["P-WATER", "P-OLD", "P-GT"]


def test_product_list_cursor_pages(catalog, rep, client_for, django_assert_max_num_queries):
    for i in range(5):
        ProductFactory(code=f"P-X{i}", brand=catalog.brand, category=catalog.snack)
    client = client_for(rep)
    seen = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, "sort": "-code"}
        if cursor:
            params["cursor"] = cursor
        with django_assert_max_num_queries(8):
            body = client.get(f"{API}/products", params).json()
        seen += [p["code"] for p in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert seen == sorted(Product.objects.values_list("code", flat=True), reverse=True)


def test_product_list_bad_sort_is_problem(catalog, rep, client_for):
    body = assert_problem(client_for(rep).get(f"{API}/products", {"sort": "secret"}), 422, "invalid_sort")
    assert body["errors"][0]["field"] == "sort"


def test_product_get_with_skus(catalog, rep, client_for):
    body = client_for(rep).get(f"{API}/products/{catalog.green_tea.pk}").json()
    assert body["code"] == "P-GT"
    assert [s["code"] for s in body["skus"]] == ["GT-1L", "GT-500"]
    gt500 = body["skus"][1]
    assert gt500["conversion"] == "1 箱 = 4 提 = 24 瓶"
    assert gt500["base_price"] in ("3.50", 3.5)


def test_product_crud_with_history(catalog, marketing, client_for):
    client = client_for(marketing)
    created = send(
        client,
        "post",
        f"{API}/products",
        {
            "code": "P-NEW",
            "name": "乌龙茶",
            "brand": "JG",
            "category": "TEA",
            "role": "follower",
        },
    )
    assert created.status_code == 201, created.content
    pid = created.json()["id"]
    assert created.json()["version"] == 1
    updated = send(client, "patch", f"{API}/products/{pid}", {"name": "冻顶乌龙", "version": 1})
    assert updated.status_code == 200
    assert (updated.json()["name"], updated.json()["version"]) == ("冻顶乌龙", 2)
    history = client.get(f"{API}/products/{pid}/history").json()
    assert [h["action"] for h in history] == ["update", "create"]
    assert history[0]["changes"] == {"name": ["乌龙茶", "冻顶乌龙"]}
    assert (history[0]["actor"], history[0]["actor_id"]) == ("市场小王", marketing.pk)
    deleted = client.delete(f"{API}/products/{pid}")
    assert deleted.status_code == 204
    assert not Product.objects.filter(pk=pid).exists()
    assert_problem(client.get(f"{API}/products/{pid}"), 404, "not_found")


def test_product_patch_version_conflict(catalog, marketing, client_for):
    client = client_for(marketing)
    url = f"{API}/products/{catalog.water.pk}"
    assert send(client, "patch", url, {"name": "A", "version": 1}).status_code == 200
    body = assert_problem(send(client, "patch", url, {"name": "B", "version": 1}), 409, "version_conflict")
    assert body["current_version"] == 2
    catalog.water.refresh_from_db()
    assert (catalog.water.name, catalog.water.version) == ("A", 2)


def test_product_create_bad_input(catalog, marketing, client_for):
    client = client_for(marketing)
    body = assert_problem(
        send(client, "post", f"{API}/products", {"code": "P-BAD", "name": "x", "brand": "NOPE", "category": "TEA"}),
        422,
        "validation_failed",
    )
    assert body["errors"] == [{"field": "brand", "message": "品牌“NOPE”不存在"}]
    body = assert_problem(send(client, "post", f"{API}/products", {"code": "P-BAD"}), 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"name", "brand", "category"}
    assert not Product.objects.filter(code="P-BAD").exists()


def test_product_delete_refused_while_skus(catalog, marketing, client_for):
    body = assert_problem(
        client_for(marketing).delete(f"{API}/products/{catalog.green_tea.pk}"), 409, "product_has_skus"
    )
    assert "已停产" in body["detail"]
    assert Product.objects.filter(pk=catalog.green_tea.pk).exists()


def test_rep_cannot_create_product(catalog, rep, client_for):
    response = send(
        client_for(rep),
        "post",
        f"{API}/products",
        {
            "code": "P-REP",
            "name": "私货",
            "brand": "JG",
            "category": "TEA",
        },
    )
    assert_problem(response, 403, "permission_denied")
    assert not Product.objects.filter(code="P-REP").exists()
    assert not AuditLog.objects.exists()


def test_rep_cannot_change_or_delete(catalog, rep, client_for):
    client = client_for(rep)
    assert_problem(send(client, "patch", f"{API}/products/{catalog.water.pk}", {"name": "x"}), 403, "permission_denied")
    assert_problem(client.delete(f"{API}/skus/{catalog.water550.pk}"), 403, "permission_denied")
    catalog.water.refresh_from_db()
    assert (catalog.water.name, catalog.water.version) == ("矿泉水", 1)
    assert Sku.objects.filter(pk=catalog.water550.pk).exists()
    assert not AuditLog.objects.exists()


@pytest.mark.parametrize("path", ["products", "skus", "brands", "categories"])
def test_user_without_profile_sees_nothing(catalog, no_profile_user, client_for, path):
    client = client_for(no_profile_user)
    body = client.get(f"{API}/{path}").json()
    assert body == {"items": [], "next_cursor": None}


def test_user_without_profile_gets_404(catalog, no_profile_user, client_for):
    client = client_for(no_profile_user)
    for url in [
        f"{API}/products/{catalog.water.pk}",
        f"{API}/products/{catalog.water.pk}/history",
        f"{API}/skus/{catalog.gt500.pk}",
        f"{API}/brands/{catalog.brand.pk}",
        f"{API}/categories/{catalog.tea.pk}",
    ]:
        assert_problem(client.get(url), 404, "not_found")
    assert_problem(send(client, "patch", f"{API}/products/{catalog.water.pk}", {"name": "x"}), 404, "not_found")
    assert_problem(
        send(
            client,
            "post",
            f"{API}/skus/{catalog.gt500.pk}/convert",
            {"quantity": 1, "from_unit": "case", "to_unit": "piece"},
        ),
        404,
        "not_found",
    )
    catalog.water.refresh_from_db()
    assert catalog.water.name == "矿泉水"
    assert client.get(f"{API}/categories/tree").json() == []


def test_outsider_sees_the_company_catalog(catalog, outsider, client_for):
    """The catalog is company-wide: a manager of another region sees the same products."""
    client = client_for(outsider)
    assert len(client.get(f"{API}/products").json()["items"]) == 3
    assert client.get(f"{API}/products/{catalog.water.pk}").status_code == 200
    assert_problem(send(client, "patch", f"{API}/products/{catalog.water.pk}", {"name": "x"}), 403, "permission_denied")
    catalog.water.refresh_from_db()
    assert catalog.water.name == "矿泉水"
    assert not AuditLog.objects.exists()


def test_unauthenticated_is_401(catalog, client):
    assert_problem(client.get(f"{API}/products"), 401, "not_authenticated")


# --- SKUs ---------------------------------------------------------------------------------


def test_sku_crud_and_history(catalog, marketing, client_for, django_assert_max_num_queries):
    client = client_for(marketing)
    created = send(
        client,
        "post",
        f"{API}/skus",
        {
            "code": "W-1L",
            "product": "P-WATER",
            "name": "矿泉水 1.5L",
            "barcode": "96385074",
            "pieces_per_pack": 6,
            "packs_per_case": 2,
            "base_price": "4.00",
        },
    )
    assert created.status_code == 201, created.content
    sku = created.json()
    assert (sku["pieces_per_case"], sku["conversion"], sku["product"]) == (12, "1 箱 = 2 提 = 12 瓶", "P-WATER")
    with django_assert_max_num_queries(8):
        listing = client.get(f"{API}/skus", {"product": "P-WATER"}).json()
    assert [s["code"] for s in listing["items"]] == ["W-1L", "W-550"]
    updated = send(client, "patch", f"{API}/skus/{sku['id']}", {"base_price": "4.50", "version": 1})
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    history = client.get(f"{API}/skus/{sku['id']}/history").json()
    assert history[0]["changes"] == {"base_price": ["4.00", "4.50"]}
    assert_problem(
        send(client, "patch", f"{API}/skus/{sku['id']}", {"spec": "x", "version": 1}), 409, "version_conflict"
    )
    assert client.delete(f"{API}/skus/{sku['id']}").status_code == 204
    assert AuditLog.objects.filter(entity="catalog.sku", action=AuditAction.DELETE).count() == 1


def test_sku_create_zero_factor_is_problem(catalog, marketing, client_for):
    body = assert_problem(
        send(
            client_for(marketing),
            "post",
            f"{API}/skus",
            {
                "code": "W-0",
                "product": "P-WATER",
                "name": "x",
                "pieces_per_pack": 0,
            },
        ),
        422,
        "validation_failed",
    )
    assert body["errors"] == [{"field": "pieces_per_pack", "message": "换算系数必须大于 0"}]
    assert body["detail"] == "换算系数必须大于 0"
    assert not Sku.objects.filter(code="W-0").exists()


def test_sku_create_bad_barcode_is_problem(catalog, marketing, client_for):
    body = assert_problem(
        send(
            client_for(marketing),
            "post",
            f"{API}/skus",
            {
                "code": "W-0",
                "product": "P-WATER",
                "name": "x",
                "barcode": "6901234567893",
            },
        ),
        422,
        "validation_failed",
    )
    assert body["errors"] == [{"field": "barcode", "message": "条码校验位错误：最后一位应为 2"}]


def test_sku_create_wrong_type_is_problem(catalog, marketing, client_for):
    body = assert_problem(
        send(
            client_for(marketing),
            "post",
            f"{API}/skus",
            {
                "code": "W-0",
                "product": "P-WATER",
                "name": "x",
                "packs_per_case": "many",
            },
        ),
        422,
        "validation_failed",
    )
    assert [e["field"] for e in body["errors"]] == ["packs_per_case"]


def test_sku_convert_endpoint(catalog, rep, client_for):
    client = client_for(rep)
    url = f"{API}/skus/{catalog.gt500.pk}/convert"
    body = send(client, "post", url, {"quantity": "2", "from_unit": "箱", "to_unit": "piece"}).json()
    assert body["sku"] == "GT-500"
    assert str(body["result"]) in ("48", "48.0")
    body = send(client, "post", url, {"quantity": 12, "from_unit": "瓶", "to_unit": "提"}).json()
    assert str(body["result"]) in ("2", "2.0")
    problem = assert_problem(
        send(client, "post", url, {"quantity": 1, "from_unit": "case", "to_unit": "吨"}), 422, "unknown_unit"
    )
    assert problem["errors"][0]["field"] == "to_unit"


# --- brands and categories ----------------------------------------------------------------


def test_brand_crud(catalog, administrator, client_for):
    client = client_for(administrator)
    created = send(client, "post", f"{API}/brands", {"code": "NB", "name": "新品牌"})
    assert created.status_code == 201
    bid = created.json()["id"]
    assert [b["code"] for b in client.get(f"{API}/brands").json()["items"]] == ["JG", "NB", "RIVAL"]
    assert send(client, "patch", f"{API}/brands/{bid}", {"active": False, "version": 1}).json()["active"] is False
    assert [h["action"] for h in client.get(f"{API}/brands/{bid}/history").json()] == ["update", "create"]
    assert_problem(client.delete(f"{API}/brands/{catalog.brand.pk}"), 409, "brand_in_use")
    assert client.delete(f"{API}/brands/{bid}").status_code == 204
    assert not Brand.objects.filter(code="NB").exists()


def test_category_api_move_and_cycle(catalog, marketing, client_for):
    client = client_for(marketing)
    created = send(client, "post", f"{API}/categories", {"code": "GREEN", "name": "绿茶类", "parent": "TEA"})
    assert created.status_code == 201
    assert (created.json()["parent"], created.json()["depth"]) == ("TEA", 2)
    assert_problem(
        send(client, "patch", f"{API}/categories/{catalog.drink.pk}", {"parent": "GREEN"}), 422, "category_cycle"
    )
    moved = send(client, "patch", f"{API}/categories/{catalog.tea.pk}", {"parent": None, "version": 1})
    assert moved.status_code == 200
    assert (moved.json()["parent"], moved.json()["depth"]) == (None, 0)
    green = Category.objects.get(code="GREEN")
    assert green.path == f"/{catalog.tea.pk}/{green.pk}/"
    tree = client.get(f"{API}/categories/tree").json()
    assert [(n["code"], n["depth"]) for n in tree] == sorted(
        [(n["code"], n["depth"]) for n in tree], key=lambda x: Category.objects.get(code=x[0]).path
    )
    assert {n["code"]: n["product_count"] for n in tree}["TEA"] == 1
    listing = client.get(f"{API}/categories", {"parent": "TEA"}).json()
    assert [c["code"] for c in listing["items"]] == ["GREEN"]
    assert_problem(client.delete(f"{API}/categories/{catalog.tea.pk}"), 409, "category_has_children")
    assert [h["action"] for h in client.get(f"{API}/categories/{catalog.tea.pk}/history").json()] == ["update"]


# --- distributor users --------------------------------------------------------------------


def test_distributor_user_sees_only_new_and_active(catalog, distributor_user, client_for):
    client = client_for(distributor_user)
    body = client.get(f"{API}/products").json()
    assert [p["code"] for p in body["items"]] == ["P-GT", "P-WATER"]
    assert body["items"][0]["sku_count"] == 1  # GT-1L is discontinued
    detail = client.get(f"{API}/products/{catalog.green_tea.pk}").json()
    assert [s["code"] for s in detail["skus"]] == ["GT-500"]
    assert_problem(client.get(f"{API}/products/{catalog.old.pk}"), 404, "not_found")
    assert [s["code"] for s in client.get(f"{API}/skus").json()["items"]] == ["GT-500", "W-550"]
    assert_problem(client.get(f"{API}/skus/{catalog.gt1l.pk}"), 404, "not_found")
    assert_problem(client.get(f"{API}/skus/{catalog.old_sku.pk}"), 404, "not_found")
    assert client.get(f"{API}/products", {"status": "discontinued"}).json()["items"] == []
    # no view permission on brands / categories for the distributor role
    assert client.get(f"{API}/brands").json()["items"] == []


def test_openapi_lists_catalog_paths(administrator, client_for):
    response = client_for(administrator).get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = {p for p in response.json()["paths"] if p.startswith(f"{API}/")}
    assert len(paths) == 14
    assert f"{API}/skus/{{sku_id}}/convert" in paths
    assert f"{API}/products/{{product_id}}/history" in paths
