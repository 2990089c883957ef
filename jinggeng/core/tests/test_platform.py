"""The platform: login, home, health, problem details, tokens, /me, cursor pagination, audit."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from jinggeng.core.audit import audit_update, diff, json_safe, snapshot
from jinggeng.core.errors import ValidationFailed
from jinggeng.core.models import ApiToken, AuditLog
from jinggeng.core.pagination import decode_cursor, keyset_paginate
from jinggeng.org.models import OrgUnit


@pytest.mark.django_db
def test_login_page_and_home_need_login(rep):
    c = Client()
    response = c.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "登录精耕" in c.get("/login/").content.decode()
    response = c.post("/login/", {"username": "rep", "password": "wrong"})
    assert "用户名或密码不正确" in response.content.decode()
    assert c.post("/login/", {"username": "rep", "password": "pass-1234-word"}).status_code == 302
    home = c.get("/").content.decode()
    assert "你好，张三" in home and "上海区域" in home


@pytest.mark.django_db
def test_language_switch_to_english(client_for, rep):
    c = client_for(rep)
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = c.get("/").content.decode()
    assert 'lang="en"' in body


@pytest.mark.django_db
def test_health():
    assert Client().get("/health/").json()["status"] == "ok"


@pytest.mark.django_db
def test_api_requires_authentication_with_problem_details():
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_authenticated" and body["status"] == 401


@pytest.mark.django_db
def test_api_csrf_is_enforced_for_session_writes(rep):
    c = Client(enforce_csrf_checks=True)
    c.force_login(rep)
    response = c.post("/api/v1/tokens", data=json.dumps({"name": "x"}), content_type="application/json")
    assert response.status_code in (401, 403)
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_me_and_token_lifecycle_through_the_api(client_for, rep, teammate):
    c = client_for(rep)
    assert c.get("/api/v1/me").json()["role"] == "rep"
    created = c.post("/api/v1/tokens", data=json.dumps({"name": "手机"}), content_type="application/json")
    assert created.status_code == 201
    raw = created.json()["token"]
    token = ApiToken.objects.get()
    assert token.token_hash != raw and raw not in token.token_hash  # stored hashed only
    assert "token" not in c.get("/api/v1/tokens").json()[0]
    bearer = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bearer.json()["username"] == "rep"
    # A teammate cannot revoke someone else's token.
    assert client_for(teammate).delete(f"/api/v1/tokens/{token.pk}").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert c.delete(f"/api/v1/tokens/{token.pk}").status_code == 204
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


@pytest.mark.django_db
def test_token_command(rep):
    out = StringIO()
    call_command("token", "create", "rep", "--name", "脚本", stdout=out)
    raw = out.getvalue().splitlines()[1]
    assert raw.startswith("jg_")
    out = StringIO()
    call_command("token", "list", "rep", stdout=out)
    assert "脚本" in out.getvalue() and raw not in out.getvalue()
    token = ApiToken.objects.get()
    call_command("token", "revoke", "rep", str(token.pk), stdout=StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.django_db
def test_openapi_document_lists_every_app():
    doc = Client().get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    assert doc["openapi"].startswith("3.")
    for prefix in ("/api/v1/customers/accounts", "/api/v1/org/", "/api/v1/catalog/"):
        assert any(p.startswith(prefix) for p in paths), prefix


@pytest.mark.django_db
def test_keyset_pagination_on_ties_and_bad_input(org):
    for i in range(5):
        OrgUnit.objects.create(code=f"T{i}", name="同名", path=f"/x{i}/")
    qs = OrgUnit.objects.filter(name="同名")
    first = keyset_paginate(qs, sort="name", allowed_sorts=("name",), cursor=None, limit=2)
    second = keyset_paginate(qs, sort="name", allowed_sorts=("name",), cursor=first.next_cursor, limit=2)
    third = keyset_paginate(qs, sort="name", allowed_sorts=("name",), cursor=second.next_cursor, limit=2)
    codes = [u.code for u in first.items + second.items + third.items]
    assert sorted(codes) == ["T0", "T1", "T2", "T3", "T4"] and len(set(codes)) == 5
    assert third.next_cursor is None
    assert decode_cursor(first.next_cursor)["s"] == "name"
    with pytest.raises(ValidationFailed):
        keyset_paginate(qs, sort="path", allowed_sorts=("name",), cursor=None, limit=2)
    with pytest.raises(ValidationFailed):
        keyset_paginate(qs, sort="-name", allowed_sorts=("name",), cursor=first.next_cursor, limit=2)


@pytest.mark.django_db
def test_audit_records_only_changed_fields(rep, org):
    unit = org.shanghai
    before = snapshot(unit, ["name", "kind", "parent"])
    unit.name = "上海新区域"
    assert diff(before, snapshot(unit, ["name", "kind", "parent"])) == {"name": ["上海区域", "上海新区域"]}
    log = audit_update(actor=rep, instance=unit, before=before)
    assert log is not None and log.changes == {"name": ["上海区域", "上海新区域"]} and log.actor == rep
    assert audit_update(actor=rep, instance=unit, before=snapshot(unit, ["name"])) is None
    assert AuditLog.objects.filter(entity="org.orgunit").count() == 1


@pytest.mark.django_db
def test_json_safe_turns_every_kind_of_value_into_json_types(rep, org):
    import datetime as dt
    import uuid
    from decimal import Decimal

    from django.db.models import TextChoices
    from django.utils.safestring import mark_safe

    class Kind(TextChoices):
        OUTLET = "outlet", "终端"

    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = {
        "plain": [None, True, 3, 2.5, "文本"],
        "decimal": [None, Decimal("5000.00")],
        "nested": {"when": dt.date(2026, 5, 1), 7: (Decimal("1.5"), dt.datetime(2026, 5, 1, 8, 30))},
        "tags": {"乙", "甲"},
        "unit": org.shanghai,
        "id": key,
        "choice": Kind.OUTLET,
        "safe": mark_safe("<b>"),
    }
    safe = json_safe(value)
    assert safe == {
        "plain": [None, True, 3, 2.5, "文本"],
        "decimal": [None, "5000.00"],
        "nested": {"when": "2026-05-01", "7": ["1.5", "2026-05-01T08:30:00"]},
        "tags": ["乙", "甲"],  # sorted: U+4E59 before U+7532
        "unit": org.shanghai.pk,
        "id": str(key),
        "choice": "outlet",
        "safe": "<b>",
    }
    assert json.loads(json.dumps(safe)) == safe


@pytest.mark.django_db
def test_token_cache_forgets_a_revoked_token_at_once(rep, settings):
    from jinggeng.core.tokens import forget_token, token_authenticate, token_create, token_revoke

    settings.API_TOKEN_CACHE_SECONDS = 30
    forget_token()
    token, raw = token_create(actor=rep, user=rep, name="cached")
    assert token_authenticate(raw) == rep
    # Revoked elsewhere (another process): remembered here until the cache entry expires ...
    ApiToken.objects.filter(pk=token.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert token_authenticate(raw) == rep
    forget_token()
    assert token_authenticate(raw) is None
    # ... revoked through the service in this process: refused at once.
    token2, raw2 = token_create(actor=rep, user=rep, name="cached2")
    assert token_authenticate(raw2) == rep
    token_revoke(actor=rep, token_id=token2.pk)
    assert token_authenticate(raw2) is None
