"""Notifications: once per dedupe key, e-mail after commit through a task, page and API."""

from __future__ import annotations

import pytest
from django.core import mail

from jinggeng.core.models import Notification
from jinggeng.core.notifications import notification_send_email, notify


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.mark.django_db
def test_notify_once_per_dedupe_key_and_email_after_commit(
    rep, teammate, immediate_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = notify(
            users=[rep, teammate.pk], kind="reminder", title="拜访提醒", body="10:00 拜访", dedupe_key="a:1"
        )
    assert len(created) == 2
    assert len(callbacks) == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["mate@example.com", "rep@example.com"]
    assert mail.outbox[0].subject == "拜访提醒"
    assert Notification.objects.filter(emailed_at__isnull=False).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        again = notify(users=[rep, teammate], kind="reminder", title="拜访提醒", dedupe_key="a:1")
    assert again == []
    assert Notification.objects.count() == 2
    assert len(mail.outbox) == 2
    # the task itself sends once even when run again (worker restart)
    assert notification_send_email.call(created[0].pk) is False
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_no_email_enqueued_when_transaction_rolls_back(rep, immediate_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(users=[rep], kind="x", title="t")
    assert len(callbacks) == 1  # only runs on commit
    assert mail.outbox == []


@pytest.mark.django_db
def test_page_and_api_show_only_my_notifications(client_for, rep, teammate):
    mine = notify(users=[rep], kind="x", title="我的通知")[0]
    theirs = notify(users=[teammate], kind="x", title="别人的通知")[0]
    c = client_for(rep)
    page = c.get("/notifications/").content.decode()
    assert "我的通知" in page and "别人的通知" not in page
    body = c.get("/api/v1/notifications").json()
    assert [i["title"] for i in body["items"]] == ["我的通知"]
    assert body["unread"] == 1
    assert c.post(f"/api/v1/notifications/{theirs.pk}/read").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert c.post(f"/api/v1/notifications/{mine.pk}/read").status_code == 204
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert c.get("/api/v1/notifications?unread=true").json()["items"] == []


@pytest.mark.django_db
def test_page_marks_read_and_refuses_others(client_for, rep, teammate):
    mine = notify(users=[rep], kind="x", title="我的通知")[0]
    theirs = notify(users=[teammate], kind="x", title="别人的通知")[0]
    c = client_for(rep)
    assert c.post("/notifications/", {"id": theirs.pk}).status_code == 404
    assert c.post("/notifications/", {"id": mine.pk}).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    fragment = c.post("/notifications/", {}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="items"' in fragment and "<html" not in fragment
