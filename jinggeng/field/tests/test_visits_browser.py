"""The rep's visit pages in a real headless browser at phone size (390×844): they fit the
screen, check-in takes the position from the Geolocation API, a step sent while offline is
queued on the phone and sent once when the network is back, and today's route stays
readable offline through the service worker."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import page_overflow_px
from jinggeng.field.models import Visit, VisitStatus, VisitStep
from jinggeng.field.tests.factories_visits import OUTLET_LAT, OUTLET_LNG, outlet, standard, visit_today

pytestmark = pytest.mark.browser

QUEUE_EMPTY = (
    "() => new Promise(r => { const q = indexedDB.open('jinggeng-field', 1);"
    " q.onsuccess = () => { const t = q.result.transaction('queue').objectStore('queue').count();"
    " t.onsuccess = () => r(t.result === 0); }; })"
)


def until(page, script: str, arg=None, seconds: float = 15) -> None:
    """Poll an async page function until it answers true (evaluate awaits its promise)."""
    for _ in range(int(seconds * 10)):
        if page.evaluate(script, arg):
            return
        page.wait_for_timeout(100)
    pytest.fail(f"still false after {seconds} s: {script}")


@pytest.fixture(autouse=True)
def _field_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FIELD_WORK_START = "00:00"
    settings.FIELD_WORK_END = "23:59"


def test_check_in_offline_step_and_offline_reading(phone_browser, rep):
    std = standard(required_steps=["card", "posm"], optional_steps=["farewell"])
    shop = outlet(rep, name="浦东好邻居便利店", address="浦东新区世纪大道 100 号")
    visit = visit_today(rep, shop, std=std)
    visit_today(rep, outlet(rep, name="第二家小店"), std=std, planned_position=2)
    page = phone_browser
    page.login(rep)
    page.context.grant_permissions(["geolocation"], origin=page.base_url)
    page.context.set_geolocation(
        {"latitude": float(OUTLET_LAT) + 0.0005, "longitude": float(OUTLET_LNG), "accuracy": 14}
    )

    today_url = page.base_url + reverse("field:today")
    page.goto(today_url)
    assert page.get_by_text("浦东好邻居便利店").first.is_visible()
    assert page_overflow_px(page) == 0
    button = page.locator(f"#visit-{visit.pk} button[type=submit]")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44  # a big tap target

    # The service worker keeps today's visit pages for reading offline (fetched in the
    # background; waiting for them also keeps the live server to one request at a time).
    urls = page.evaluate("JSON.parse(document.getElementById('fv-urls').textContent)")
    assert reverse("field:visit_detail", args=[visit.pk]) in urls
    urls = [u for u in urls if u.startswith("/field/visits/")]
    assert len(urls) == 2
    until(
        page,
        "async (urls) => { const c = await caches.open('jinggeng-field-v1');"
        " for (const u of urls) { if (!(await c.match(u))) return false; } return true; }",
        urls,
    )
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    button.click()
    page.wait_for_url(page.base_url + reverse("field:visit_detail", args=[visit.pk]))
    page.wait_for_load_state("networkidle")  # (SQLite: the live server shares the test's connection)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.IN_PROGRESS
    assert float(visit.check_in_latitude) == pytest.approx(float(OUTLET_LAT) + 0.0005, abs=1e-6)
    assert visit.check_in_accuracy_m == 14.0
    assert visit.check_in_distance_m == 55.6
    assert visit.check_in_device_at is not None
    assert page_overflow_px(page) == 0

    # Offline: the POSM step is kept on the phone, then sent once when the network is back.
    page.context.set_offline(True)
    posm = page.locator("form:has(input[name=kind][value=posm])")
    posm.locator("input[value=poster]").check()
    posm.locator("button[type=submit]").click()
    page.locator("#fv-offline.show").wait_for()
    assert "网络不可用" in page.locator("#fv-offline").inner_text()
    assert "检查海报与助销物 · 浦东好邻居便利店" in page.locator("#fv-offline").inner_text()
    page.wait_for_load_state("networkidle")
    assert VisitStep.objects.filter(visit=visit).count() == 0
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    until(page, QUEUE_EMPTY)
    page.wait_for_load_state("networkidle")
    step = VisitStep.objects.get(visit=visit)
    assert (step.kind, step.data["checks"]["poster"]) == ("posm", True)
    # sending the same queued request again (as a flaky network would) changes nothing
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_load_state("networkidle")
    assert VisitStep.objects.filter(visit=visit).count() == 1
    assert Visit.objects.get(pk=visit.pk).version == 3

    # Reading offline: today's route comes from the service worker's copy.
    page.goto(today_url)
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    page.goto(today_url)  # now fetched through the worker, which keeps a copy
    page.context.set_offline(True)
    page.goto(today_url)
    assert page.get_by_text("第二家小店").first.is_visible()
    page.context.set_offline(False)

    # Logging out from a field page drops the copies kept for offline reading.
    page.goto(today_url)
    page.locator("form[action$='/logout/'] button").click()
    page.wait_for_url("**/login/**")
    until(page, "async () => (await caches.keys()).filter(n => n.startsWith('jinggeng-field-')).length === 0")
    assert errors == []
