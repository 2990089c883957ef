"""Activities, calendar, reminders and alerts (each sent once, even when the checks run again)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from jinggeng.core.models import AuditLog, Notification
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.pipeline.models import Activity, Opportunity
from jinggeng.pipeline.services import activity_reminders_send, pipeline_alerts_run, stale_deals_check
from jinggeng.pipeline.tests.conftest import patch, post
from jinggeng.pipeline.tests.factories import ActivityFactory, OpportunityFactory

API = "/api/v1/pipeline"


@pytest.mark.django_db
def test_log_an_activity_against_an_opportunity(client_for, rep):
    opportunity = OpportunityFactory(owner=rep)
    Opportunity.objects.filter(pk=opportunity.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=20))
    response = post(
        client_for(rep),
        f"{API}/activities",
        {"kind": "call", "subject": "电话沟通报价", "opportunity": opportunity.pk, "done": True},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["opportunity"]["id"] == opportunity.pk
    assert body["account"]["id"] == opportunity.account_id
    assert body["done_at"] is not None
    opportunity.refresh_from_db()
    assert timezone.now() - opportunity.last_activity_at < dt.timedelta(minutes=1)
    assert AuditLog.objects.filter(entity="pipeline.activity", action="create").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "fax", "subject": "x"}, "kind"),
        ({"kind": "call", "subject": ""}, "subject"),
        ({"kind": "task", "subject": "x"}, "due_at"),
        ({"kind": "call", "subject": "x", "duration_minutes": 0}, "duration_minutes"),
        ({"kind": "call", "subject": "x", "owner": "rm_north"}, "owner"),
    ],
)
def test_bad_activity_input(client_for, rep, outsider, data, field):
    response = post(client_for(rep), f"{API}/activities", data)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}
    assert Activity.objects.count() == 0


@pytest.mark.django_db
def test_links_outside_scope_are_refused(client_for, rep, outsider):
    far_account = AccountFactory(owner=outsider, division_id="110105", city_code="110100")
    far_opportunity = OpportunityFactory(owner=outsider, account=far_account)
    c = client_for(rep)
    for field, value in (("account", far_account.pk), ("opportunity", far_opportunity.pk), ("lead", 999999)):
        response = post(c, f"{API}/activities", {"kind": "note", "subject": "x", field: value})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field
    assert Activity.objects.count() == 0


@pytest.mark.django_db
def test_complete_update_and_outsider(client_for, rep, outsider):
    activity = ActivityFactory(owner=rep, subject="拜访客户")
    c = client_for(outsider)
    audits = AuditLog.objects.count()
    base = f"{API}/activities/{activity.pk}"
    assert c.get(base).status_code == 404
    assert c.get(f"{base}/history").status_code == 404
    assert patch(c, base, {"subject": "篡改"}).status_code == 404
    assert post(c, f"{base}/complete").status_code == 404
    assert c.delete(base).status_code == 404
    assert c.get(f"{API}/activities").json()["items"] == []
    activity.refresh_from_db()
    assert (activity.subject, activity.done_at, activity.version) == ("拜访客户", None, 1)
    assert AuditLog.objects.count() == audits
    mine = client_for(rep)
    assert post(mine, f"{base}/complete", {"version": 1}).json()["done_at"] is not None
    assert post(mine, f"{base}/complete", {}).status_code == 422
    assert patch(mine, base, {"subject": "改期", "version": 1}).status_code == 409
    assert [h["action"] for h in mine.get(f"{base}/history").json()] == ["update"]


@pytest.mark.django_db
def test_calendar_own_and_team(client_for, rep, teammate, area_manager, outsider):
    soon = timezone.now() + dt.timedelta(hours=3)
    ActivityFactory(owner=rep, subject="张三拜访", due_at=soon)
    ActivityFactory(owner=teammate, subject="李四拜访", due_at=soon)
    ActivityFactory(owner=outsider, subject="北京拜访", due_at=soon)
    start = (timezone.now() - dt.timedelta(days=1)).isoformat()
    end = (timezone.now() + dt.timedelta(days=1)).isoformat()

    def subjects(user, **extra):
        response = client_for(user).get(f"{API}/activities", {"start": start, "end": end, **extra})
        return sorted(x["subject"] for x in response.json()["items"])

    assert subjects(rep) == ["张三拜访"]
    assert subjects(area_manager) == ["张三拜访", "李四拜访"]
    assert subjects(area_manager, mine="true") == []
    page = client_for(area_manager).get("/pipeline/calendar/?view=week&team=1").content.decode()
    assert "张三拜访" in page and "李四拜访" in page and "北京拜访" not in page
    own = client_for(rep).get("/pipeline/calendar/?view=month").content.decode()
    assert "张三拜访" in own and "李四拜访" not in own
    day = client_for(rep).get(
        f"/pipeline/calendar/?view=day&date={timezone.localdate(soon).isoformat()}", HTTP_HX_REQUEST="true"
    )
    assert 'id="grid"' in day.content.decode() and "<html" not in day.content.decode()


@pytest.mark.django_db
def test_reminders_are_sent_once_even_when_the_check_runs_again(rep, teammate):
    now = timezone.now()
    due = ActivityFactory(owner=rep, subject="签约会议", due_at=now + dt.timedelta(minutes=20))
    ActivityFactory(owner=rep, subject="下周的事", due_at=now + dt.timedelta(days=7))
    ActivityFactory(owner=teammate, subject="已完成", due_at=now + dt.timedelta(minutes=5), done_at=now)
    assert activity_reminders_send(now=now, minutes=30) == 1
    assert activity_reminders_send(now=now, minutes=30) == 0  # worker restarted: nothing twice
    note = Notification.objects.get()
    assert (note.user_id, note.kind) == (rep.pk, "activity_due")
    assert "签约会议" in note.title and note.link == f"/pipeline/activities/{due.pk}/"
    # moved to another time: reminded again for the new time
    Activity.objects.filter(pk=due.pk).update(due_at=now + dt.timedelta(minutes=25))
    assert activity_reminders_send(now=now, minutes=30) == 1


@pytest.mark.django_db
def test_stale_deal_alert(rep, area_manager):
    pipeline_days = 21  # 大客户项目
    quiet = OpportunityFactory(owner=rep, name="沉默的商机")
    OpportunityFactory(owner=rep, name="活跃的商机")
    Opportunity.objects.filter(pk=quiet.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(days=pipeline_days + 1)
    )
    assert stale_deals_check() == 2  # the owner and the manager
    assert stale_deals_check() == 0
    assert sorted(Notification.objects.filter(kind="stale_deal").values_list("user_id", flat=True)) == sorted(
        [rep.pk, area_manager.pk]
    )
    assert "沉默的商机" in Notification.objects.filter(kind="stale_deal").first().title


@pytest.mark.django_db
def test_alerts_command_and_task(rep, area_manager, general_manager, settings):
    settings.PIPELINE_LARGE_DEAL_AMOUNT = 1000
    OpportunityFactory(owner=rep, amount=5000)  # made directly: no alert yet
    ActivityFactory(owner=rep, due_at=timezone.now() + dt.timedelta(minutes=10))
    out = StringIO()
    call_command("pipeline_alerts", stdout=out)
    assert out.getvalue().strip() == "reminders=1 large_deals=2 stale_deals=0"
    assert pipeline_alerts_run() == {"reminders": 0, "large_deals": 0, "stale_deals": 0}
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    from jinggeng.pipeline.tasks import pipeline_alerts

    assert pipeline_alerts.enqueue().return_value == {"reminders": 0, "large_deals": 0, "stale_deals": 0}


@pytest.mark.django_db
def test_activity_list_query_count(client_for, rep, general_manager, django_assert_max_num_queries):
    opportunity = OpportunityFactory(owner=rep)
    for _ in range(5):
        ActivityFactory(owner=rep, opportunity=opportunity, account=opportunity.account)
    c = client_for(general_manager)
    with django_assert_max_num_queries(8):
        body = c.get(f"{API}/activities?limit=3").json()
    assert len(body["items"]) == 3 and body["next_cursor"]
    assert len(c.get(f"{API}/activities", {"cursor": body["next_cursor"]}).json()["items"]) == 2
