"""The personal iCalendar feed: secret, revocable, and valid RFC 5545 (parsed here by hand)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from jinggeng.core.models import AuditLog
from jinggeng.pipeline.ical import calendar_text, escape_text, fold
from jinggeng.pipeline.models import CalendarFeed
from jinggeng.pipeline.tests.conftest import post
from jinggeng.pipeline.tests.factories import ActivityFactory

API = "/api/v1/pipeline"
CONTENT_LINE = re.compile(r"^(?P<name>[A-Z][A-Z0-9-]*)(?P<params>(;[^:]*)?):(?P<value>.*)$")


def parse_ics(raw: bytes) -> list[dict[str, str]]:
    """A small RFC 5545 reader: checks CRLF, the 75-octet limit, unfolds, and returns the events."""
    assert raw.endswith(b"\r\n")
    physical = raw.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in physical)
    assert all(len(line) <= 75 for line in physical), max(len(line) for line in physical)
    text_lines: list[str] = []
    for line in physical:
        decoded = line.decode("utf-8")  # every physical line is whole UTF-8: no split characters
        if decoded.startswith((" ", "\t")):
            text_lines[-1] += decoded[1:]
        else:
            text_lines.append(decoded)
    assert text_lines[0] == "BEGIN:VCALENDAR" and text_lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in text_lines and any(line.startswith("PRODID:") for line in text_lines)
    events: list[dict[str, str]] = []
    stack: list[str] = []
    for line in text_lines:
        match = CONTENT_LINE.match(line)
        assert match, line
        name, value = match["name"], match["value"]
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
        elif name == "END":
            assert stack.pop() == value
        elif stack and stack[-1] == "VEVENT":
            events[-1][name] = value
    assert stack == []
    for event in events:
        for required in ("UID", "DTSTAMP", "DTSTART"):
            assert required in event
        for key in ("DTSTAMP", "DTSTART", "DTEND"):
            dt.datetime.strptime(event[key], "%Y%m%dT%H%M%SZ")
    return events


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def test_escaping_and_folding():
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "SUMMARY:" + "拜访客户" * 20
    folded = fold(line).encode().split(b"\r\n")
    assert all(len(part) <= 75 for part in folded) and len(folded) > 1
    assert b"".join(p[1:] if i else p for i, p in enumerate(folded)).decode() == line
    text = calendar_text(events=[], name="x", now=timezone.now())
    assert parse_ics(text.encode()) == []


@pytest.mark.django_db
def test_feed_serves_my_activities_as_valid_icalendar(client_for, rep, teammate):
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
    mine = ActivityFactory(
        owner=rep,
        subject="拜访：浦东惠民超市, 谈陈列; 费用\\返利" + "很长的主题" * 10,
        body="第一行\n第二行",
        due_at=start,
        duration_minutes=45,
    )
    ActivityFactory(owner=teammate, subject="李四的日程")
    response = post(client_for(rep), f"{API}/calendar-feed")
    assert response.status_code == 201
    url = response.json()["url"]
    assert url.startswith("http://testserver/pipeline/ical/") and url.endswith(".ics")
    feed = client_for(teammate).get(url.removeprefix("http://testserver"))  # no login needed; any client
    assert feed.status_code == 200
    assert feed["Content-Type"] == "text/calendar; charset=utf-8"
    events = parse_ics(feed.content)
    assert len(events) == 1
    event = events[0]
    assert event["UID"] == f"activity-{mine.pk}@jinggeng"
    assert unescape(event["SUMMARY"]) == f"[会议/拜访] {mine.subject}"
    assert unescape(event["DESCRIPTION"]).endswith("第一行\n第二行")
    assert event["DTSTART"] == start.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert event["DTEND"] == (start + dt.timedelta(minutes=45)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert "李四的日程" not in feed.content.decode()


@pytest.mark.django_db
def test_regenerate_and_revoke(client_for, rep):
    c = client_for(rep)
    first = post(c, f"{API}/calendar-feed").json()["url"].removeprefix("http://testserver")
    second = post(c, f"{API}/calendar-feed").json()["url"].removeprefix("http://testserver")
    assert c.get(first).status_code == 404
    assert c.get(second).status_code == 200
    assert CalendarFeed.objects.count() == 1
    assert c.delete(f"{API}/calendar-feed").status_code == 204
    assert c.get(second).status_code == 404
    assert c.get("/pipeline/ical/not-a-token.ics").status_code == 404
    assert AuditLog.objects.filter(entity="pipeline.calendarfeed").count() == 3
    # the page creates one and shows the link once
    page = c.post("/pipeline/calendar/feed/").content.decode()
    assert "/pipeline/ical/" in page
    assert "/pipeline/ical/" not in c.get("/pipeline/calendar/feed/").content.decode()
    c.post("/pipeline/calendar/feed/", {"action": "revoke"})
    assert CalendarFeed.objects.count() == 0
