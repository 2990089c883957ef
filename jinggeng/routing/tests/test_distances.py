"""Distance sources: straight-line by default, OSRM's table service when configured.

The OSRM tests run a tiny fake server on 127.0.0.1 inside the test; nothing leaves the machine.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jinggeng.routing.distances import (
    HaversineDistance,
    OsrmDistance,
    RoutingServiceUnavailable,
    distance_source_from_settings,
)
from jinggeng.routing.problem import Location, Stop, WeekProblem
from jinggeng.routing.solver import solve_week
from jinggeng.routing.tests.problems import CENTRE, offset


class FakeOsrm(BaseHTTPRequestHandler):
    """Answers /table/v1/driving/<lng,lat;...>: 1 km and 2 minutes per index step between
    locations; locations with latitude above 60 are unreachable (null)."""

    requests: list[str] = []
    fail = False

    def do_GET(self) -> None:
        FakeOsrm.requests.append(self.path)
        if FakeOsrm.fail:
            self._send(400, {"code": "InvalidQuery", "message": "Too many table coordinates"})
            return
        parsed = urllib.parse.urlsplit(self.path)
        prefix = "/table/v1/driving/"
        assert parsed.path.startswith(prefix)
        coords = [tuple(map(float, c.split(","))) for c in parsed.path[len(prefix) :].split(";")]
        query = urllib.parse.parse_qs(parsed.query)
        assert query["annotations"] == ["distance,duration"]
        sources = [int(i) for i in query["sources"][0].split(";")]
        destinations = [int(i) for i in query["destinations"][0].split(";")]

        def cell(i: int, j: int, per: float) -> float | None:
            if i != j and (coords[i][1] > 60 or coords[j][1] > 60):
                return None
            return abs(i - j) * per

        self._send(
            200,
            {
                "code": "Ok",
                "distances": [[cell(i, j, 1000.0) for j in destinations] for i in sources],
                "durations": [[cell(i, j, 120.0) for j in destinations] for i in sources],
            },
        )

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def osrm_url() -> Iterator[str]:
    FakeOsrm.requests = []
    FakeOsrm.fail = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_haversine_is_great_circle_distance_times_the_road_factor():
    source = HaversineDistance(road_factor=1.3, speed_kmh=30)
    m = source.matrix([Location(31.0, 121.0), Location(32.0, 121.0), Location(31.0, 121.0)])
    assert m.km[0][1] == pytest.approx(111.195 * 1.3, rel=1e-4)
    assert m.km[1][0] == pytest.approx(m.km[0][1])
    assert m.km[0][2] == 0
    assert m.minutes[0][1] == pytest.approx(m.km[0][1] / 30 * 60)


def test_osrm_matrix_from_the_table_service(osrm_url):
    locations = [Location(31.2, 121.4 + i / 100) for i in range(5)]
    m = OsrmDistance(base_url=osrm_url + "/", chunk=2).matrix(locations)
    assert m.km.tolist() == [[abs(i - j) * 1.0 for j in range(5)] for i in range(5)]
    assert m.minutes.tolist() == [[abs(i - j) * 2.0 for j in range(5)] for i in range(5)]
    # 5 locations in blocks of 2 × 2: 3 × 3 requests, each naming every coordinate once.
    assert len(FakeOsrm.requests) == 9
    assert FakeOsrm.requests[0].startswith("/table/v1/driving/121.400000,31.200000;121.410000,31.200000;")


def test_osrm_null_cells_are_unreachable_and_such_stops_unplaced(osrm_url):
    stops = (
        Stop(id="near", location=offset(CENTRE, 1, 0), service_minutes=10),
        Stop(id="island", location=Location(61.0, 121.0), service_minutes=10),
        Stop(id="other", location=offset(CENTRE, 2, 0), service_minutes=10),
    )
    problem = WeekProblem(stops=stops, depot_start=CENTRE, depot_end=CENTRE, working_days=(0,))
    plan = solve_week(problem, time_limit_seconds=0.5, distances=OsrmDistance(base_url=osrm_url))
    assert [(u.stop_id, u.code) for u in plan.unplaced] == [("island", "unreachable")]
    assert sorted(sid for d in plan.days for sid in d.stop_ids) == ["near", "other"]
    # Travel comes from the server: start(0) -> near(2) -> other(4) -> end(1) = 2 + 2 + 3 km at best.
    assert plan.total_km == pytest.approx(7.0)


def test_osrm_errors_become_a_clear_service_error(osrm_url):
    FakeOsrm.fail = True
    with pytest.raises(RoutingServiceUnavailable) as exc:
        OsrmDistance(base_url=osrm_url).matrix([CENTRE, offset(CENTRE, 1, 1)])
    assert exc.value.status == 503
    assert "Too many table coordinates" in exc.value.message


def test_osrm_server_down_is_a_clear_service_error(osrm_url):
    dead = OsrmDistance(base_url="http://127.0.0.1:9", timeout_seconds=2)
    with pytest.raises(RoutingServiceUnavailable):
        dead.matrix([CENTRE, offset(CENTRE, 1, 1)])


def test_distance_source_follows_the_setting(settings, osrm_url):
    settings.ROUTING_OSRM_URL = ""
    default = distance_source_from_settings(road_factor=1.5, speed_kmh=20)
    assert default == HaversineDistance(road_factor=1.5, speed_kmh=20)
    settings.ROUTING_OSRM_URL = osrm_url
    source = distance_source_from_settings()
    assert source == OsrmDistance(base_url=osrm_url)
    # And solve_week uses it when no source is given.
    stops = (Stop(id="a", location=offset(CENTRE, 1, 0), service_minutes=5),)
    plan = solve_week(
        WeekProblem(stops=stops, depot_start=CENTRE, depot_end=CENTRE, working_days=(0,)), time_limit_seconds=0.3
    )
    assert FakeOsrm.requests
    assert plan.total_km == pytest.approx(2.0 + 1.0)
    assert not math.isnan(plan.balance)
