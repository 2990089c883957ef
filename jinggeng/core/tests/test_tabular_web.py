"""Import / export pages: upload → dry run → confirm, stored uploads per user, downloads."""

from __future__ import annotations

import io
import uuid

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from jinggeng.core.models import AuditAction, AuditLog


@pytest.fixture(autouse=True)
def _chinese():
    """Messages and headers are asserted in Chinese, whatever an earlier test activated."""
    with translation.override("zh-hans"):
        yield


HEADER = "产品编码,产品名称,品牌编码,品类编码,SKU 编码,SKU 名称,基准价"
GOOD = ["P1,绿茶,JG,TEA,GT-500,绿茶 500ml,3.50", "P1,绿茶,JG,TEA,GT-1L,绿茶 1L,6.00"]
BAD = "P2,红茶,NOPE,TEA,RT-500,红茶 500ml,1"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def catalog_base(db):
    from jinggeng.catalog.models import Brand, Category

    Brand.objects.create(code="JG", name="精耕")
    category = Category.objects.create(code="TEA", name="茶饮料")
    category.path = f"/{category.pk}/"
    category.save(update_fields=["path"])


def upload(client, *lines: str, name: str = "products.csv", mode: str = "atomic", data: bytes | None = None):
    content = data if data is not None else ("\n".join([HEADER, *lines]) + "\n").encode()
    return client.post(
        reverse("import_list"),
        {"entity": "products", "mode": mode, "file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def sku_codes() -> list[str]:
    from jinggeng.catalog.models import Sku

    return sorted(Sku.objects.values_list("code", flat=True))


def test_import_page_lists_what_the_user_may_import_and_export(client_for, administrator, rep) -> None:
    page = client_for(administrator).get(reverse("import_list"))
    assert page.status_code == 200
    body = page.content.decode()
    for entity in ("accounts", "contacts", "products", "employees"):
        assert reverse("import_template", args=[entity]) in body
    rep_page = client_for(rep).get(reverse("import_list")).content.decode()
    assert reverse("import_template", args=["products"]) not in rep_page
    assert reverse("import_template", args=["accounts"]) not in rep_page
    assert reverse("export_download", args=["accounts"]) in rep_page


def test_login_required(client) -> None:
    assert client.get(reverse("import_list")).status_code == 302


def test_upload_dry_run_then_confirm(client_for, administrator, catalog_base) -> None:
    client = client_for(administrator)
    response = upload(client, *GOOD, BAD, mode="valid_only")
    assert response.status_code == 302
    detail_url = response["Location"]
    assert sku_codes() == []
    page = client.get(detail_url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "品牌“NOPE”不存在" in body and "试运行" in body
    token = detail_url.rstrip("/").split("/")[-1]
    assert page.context["report"].created == 2 and page.context["report"].refused == 1

    blocked = client.post(reverse("import_confirm", args=[token]), {"mode": "atomic"})
    assert blocked.status_code == 200
    assert blocked.context["result"].blocked is True
    assert sku_codes() == []

    done = client.post(reverse("import_confirm", args=[token]), {"mode": "valid_only"})
    assert done.status_code == 200
    assert done.context["result"].committed is True
    assert sku_codes() == ["GT-1L", "GT-500"]
    assert AuditLog.objects.filter(action=AuditAction.IMPORT).count() == 1
    # The file is gone after a committed import: confirming again changes nothing.
    again = client.post(reverse("import_confirm", args=[token]), {"mode": "valid_only"})
    assert again.status_code == 400
    assert AuditLog.objects.filter(action=AuditAction.IMPORT).count() == 1


def test_error_report_download(client_for, administrator, catalog_base) -> None:
    client = client_for(administrator)
    token = upload(client, GOOD[0], BAD)["Location"].rstrip("/").split("/")[-1]
    response = client.get(reverse("import_errors", args=[token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    data = b"".join(response.streaming_content)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[1][:4] == (3, "错误", "品牌编码", "品牌“NOPE”不存在")


def test_another_users_upload_is_404(client_for, administrator, general_manager, catalog_base) -> None:
    token = upload(client_for(administrator), *GOOD)["Location"].rstrip("/").split("/")[-1]
    other = client_for(general_manager)
    assert other.get(reverse("import_detail", args=[token])).status_code == 404
    assert other.get(reverse("import_errors", args=[token])).status_code == 404
    assert other.post(reverse("import_confirm", args=[token]), {"mode": "atomic"}).status_code == 404
    assert sku_codes() == []
    assert not AuditLog.objects.filter(action=AuditAction.IMPORT).exists()
    assert client_for(administrator).get(reverse("import_detail", args=[uuid.uuid4()])).status_code == 404


def test_oversize_upload_is_refused(client_for, administrator, catalog_base, settings, media) -> None:
    settings.IMPORT_MAX_BYTES = 50
    response = upload(client_for(administrator), *GOOD)
    assert response.status_code == 400
    assert "文件太大" in response.content.decode()
    assert not (media / "imports").exists() or not any((media / "imports").iterdir())


def test_non_spreadsheet_upload_is_refused(client_for, administrator, catalog_base, media) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    response = upload(client_for(administrator), name="photo.xlsx", data=png)
    assert response.status_code == 400
    assert "不是 Excel" in response.content.decode()
    assert not any((media / "imports").iterdir())


def test_missing_column_upload_names_it(client_for, administrator, catalog_base) -> None:
    response = upload(client_for(administrator), data="产品名称\n绿茶\n".encode())
    assert response.status_code == 400
    assert "产品编码（product_code）" in response.content.decode()


def test_entity_without_permission_is_refused(client_for, rep, catalog_base) -> None:
    response = upload(client_for(rep), *GOOD)
    assert response.status_code == 400
    assert sku_codes() == []


def test_template_download_in_the_users_language(client_for, administrator) -> None:
    client = client_for(administrator)
    response = client.get(reverse("import_template", args=["products"]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = list(
        openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True)
    )
    assert rows[0][0] == "Product code *"
    zh = client.get(reverse("import_template", args=["products"]) + "?format=csv", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = b"".join(zh.streaming_content).decode("utf-8-sig")
    assert text.startswith("产品编码,产品名称")
    assert client_for(administrator).get(reverse("import_template", args=["nothing"])).status_code == 404


def test_export_download_honours_filters_and_scope(client_for, rep, outsider, general_manager) -> None:
    from jinggeng.customers.tests.factories import AccountFactory

    AccountFactory(code="SH-A", name="上海甲", owner=rep, grade="A")
    AccountFactory(code="SH-B", name="上海乙", owner=rep, grade="B")
    AccountFactory(code="BJ-A", name="北京甲", owner=outsider, grade="A", division_id="110101")

    def codes(user, query: str) -> list[str]:
        response = client_for(user).get(reverse("export_download", args=["accounts"]) + query)
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        return sorted(line.split(",")[0] for line in text.splitlines()[1:])

    assert codes(general_manager, "?format=csv&grade=A") == ["BJ-A", "SH-A"]
    assert codes(outsider, "?format=csv") == ["BJ-A"]
    bad = client_for(general_manager).get(reverse("export_download", args=["accounts"]) + "?format=csv&colour=red")
    assert bad.status_code == 400
    assert "colour" in bad.content.decode()


def test_export_without_permission_is_403(client_for, org) -> None:
    from jinggeng.org.tests.factories import make_employee

    promoter = make_employee("promo", "promoter", org.shanghai).user
    assert client_for(promoter).get(reverse("export_download", args=["accounts"])).status_code == 403
    assert client_for(promoter).get(reverse("export_download", args=["nothing"])).status_code == 404


def test_accounts_dry_run_page_shows_warnings_and_htmx_confirm_returns_the_fragment(
    client_for, general_manager, rep
) -> None:
    from jinggeng.customers.models import Account
    from jinggeng.customers.tests.factories import AccountFactory

    AccountFactory(name="老客户", phone="13800138000", owner=rep)
    client = client_for(general_manager)
    content = "客户编码,客户名称,客户类型,行政区划代码,负责人,电话\nC1,新店,终端,310115,rep,13800138000\n".encode("gbk")
    response = client.post(
        reverse("import_list"),
        {"entity": "accounts", "mode": "atomic", "file": SimpleUploadedFile("a.csv", content, content_type="text/csv")},
    )
    assert response.status_code == 302
    token = response["Location"].rstrip("/").split("/")[-1]
    page = client.get(response["Location"]).content.decode()
    assert "疑似重复客户" in page and "老客户" in page
    assert Account.objects.count() == 1
    done = client.post(reverse("import_confirm", args=[token]), {"mode": "atomic"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    body = done.content.decode()
    assert 'id="import-result"' in body and "<html" not in body
    assert Account.objects.filter(code="C1").count() == 1


def test_huge_upload_is_refused_before_reading_the_body(client_for, administrator, settings, media) -> None:
    settings.IMPORT_MAX_BYTES = 1024
    body = b"x" * (200 * 1024)
    response = client_for(administrator).generic(
        "POST", reverse("import_list"), body, content_type="multipart/form-data; boundary=zzz"
    )
    assert response.status_code == 413
    assert "文件太大" in response.content.decode()


def test_stale_uploads_are_purged(media) -> None:
    import datetime as dt
    import os

    from jinggeng.core.tabular.uploads import imports_dir, purge_stale_uploads

    old = imports_dir() / "00000000-0000-0000-0000-000000000000.json"
    old.write_text("{}")
    os.utime(old, (0, 0))
    fresh = imports_dir() / "11111111-1111-1111-1111-111111111111.json"
    fresh.write_text("{}")
    assert purge_stale_uploads(older_than=dt.timedelta(days=7)) == 1
    assert not old.exists() and fresh.exists()


def test_a_second_confirmation_while_importing_is_refused(client_for, administrator, catalog_base) -> None:
    from jinggeng.core.tabular.uploads import imports_dir

    client = client_for(administrator)
    token = upload(client, *GOOD)["Location"].rstrip("/").split("/")[-1]
    (imports_dir() / f"{token}.lock").write_text("")
    response = client.post(reverse("import_confirm", args=[token]), {"mode": "atomic"})
    assert response.status_code == 400
    assert "正在导入" in response.content.decode()
    assert sku_codes() == []
    (imports_dir() / f"{token}.lock").unlink()
    assert client.post(reverse("import_confirm", args=[token]), {"mode": "atomic"}).status_code == 200
    assert sku_codes() == ["GT-1L", "GT-500"]
