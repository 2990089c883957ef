"""Where travel distances and times come from.

The default is straight-line (haversine) distance scaled by a road factor, at an average speed.
When ``settings.ROUTING_OSRM_URL`` is set, an OSRM server's ``/table`` service gives road
distances and durations instead. Both return full matrices over a list of locations, in
kilometres and minutes; ``math.inf`` marks a pair with no route.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _

from jinggeng.core.errors import DomainError
from jinggeng.routing.problem import Location

EARTH_RADIUS_KM = 6371.0088


class RoutingServiceUnavailable(DomainError):
    """The configured road-routing service did not answer usefully."""

    code = "routing_service_unavailable"
    status = 503


@dataclass(frozen=True)
class DistanceMatrix:
    """Square matrices over the same list of locations: ``km[i][j]`` and ``minutes[i][j]``."""

    km: np.ndarray
    minutes: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.km)
        if self.km.shape != (n, n) or self.minutes.shape != (n, n):
            raise ValueError("distance matrices must be square and of the same size")


class DistanceSource(Protocol):
    """Anything that can give the distance and travel-time matrix of a list of locations."""

    def matrix(self, locations: Sequence[Location]) -> DistanceMatrix: ...


@dataclass(frozen=True)
class HaversineDistance:
    """Great-circle distance × ``road_factor``, driven at ``speed_kmh``."""

    road_factor: float = 1.3
    speed_kmh: float = 25.0

    def matrix(self, locations: Sequence[Location]) -> DistanceMatrix:
        lat = np.radians(np.array([loc.lat for loc in locations], dtype=float))
        lng = np.radians(np.array([loc.lng for loc in locations], dtype=float))
        dlat = lat[:, None] - lat[None, :]
        dlng = lng[:, None] - lng[None, :]
        a = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlng / 2) ** 2
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))) * self.road_factor
        return DistanceMatrix(km=km, minutes=km / self.speed_kmh * 60.0)


@dataclass(frozen=True)
class OsrmDistance:
    """Road distances and durations from an OSRM server's table service.

    ``base_url`` is the server root (``http://osrm.internal:5000``). Large lists are asked in
    blocks of ``chunk`` sources × ``chunk`` destinations, within OSRM's default table limit.
    """

    base_url: str
    profile: str = "driving"
    timeout_seconds: float = 30.0
    chunk: int = 100

    def _url(self, locations: Sequence[Location], sources: range, destinations: range) -> str:
        coords = ";".join(f"{loc.lng:.6f},{loc.lat:.6f}" for loc in locations)
        query = urllib.parse.urlencode(
            {
                "annotations": "distance,duration",
                "sources": ";".join(str(i) for i in sources),
                "destinations": ";".join(str(i) for i in destinations),
            }
        )
        base = self.base_url.rstrip("/")
        return f"{base}/table/v1/{urllib.parse.quote(self.profile)}/{coords}?{query}"

    def _fetch(self, url: str) -> dict[str, object]:
        if not url.startswith(("http://", "https://")):
            raise RoutingServiceUnavailable(_("道路距离服务的地址必须以 http:// 或 https:// 开头。"))
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_seconds) as response:  # noqa: S310 (scheme checked)
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            # OSRM answers refused queries with a 4xx and a JSON body naming the problem.
            try:
                body = json.loads(exc.read().decode("utf-8"))
            except (ValueError, OSError):
                body = {"code": str(exc.code), "message": str(exc)}
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise RoutingServiceUnavailable(
                _("道路距离服务无法使用：%(error)s") % {"error": exc}, extra={"url": self.base_url}
            ) from exc
        if not isinstance(body, dict) or body.get("code") != "Ok":
            message = body.get("message", "") if isinstance(body, dict) else ""
            raise RoutingServiceUnavailable(
                _("道路距离服务返回错误：%(error)s") % {"error": message or body}, extra={"url": self.base_url}
            )
        return body

    def matrix(self, locations: Sequence[Location]) -> DistanceMatrix:
        n = len(locations)
        km = np.full((n, n), math.inf)
        minutes = np.full((n, n), math.inf)
        step = max(1, self.chunk)
        for s0 in range(0, n, step):
            sources = range(s0, min(n, s0 + step))
            for d0 in range(0, n, step):
                destinations = range(d0, min(n, d0 + step))
                body = self._fetch(self._url(locations, sources, destinations))
                distances = body.get("distances")
                durations = body.get("durations")
                if not isinstance(distances, list) or not isinstance(durations, list):
                    raise RoutingServiceUnavailable(_("道路距离服务的回复缺少距离或时间。"))
                for i, (drow, trow) in enumerate(zip(distances, durations, strict=True)):
                    for j, (meters, seconds) in enumerate(zip(drow, trow, strict=True)):
                        if meters is not None and seconds is not None:
                            km[s0 + i, d0 + j] = float(meters) / 1000.0
                            minutes[s0 + i, d0 + j] = float(seconds) / 60.0
        np.fill_diagonal(km, 0.0)
        np.fill_diagonal(minutes, 0.0)
        return DistanceMatrix(km=km, minutes=minutes)


def distance_source_from_settings(*, road_factor: float = 1.3, speed_kmh: float = 25.0) -> DistanceSource:
    """OSRM when ``settings.ROUTING_OSRM_URL`` is set, straight-line distance otherwise."""
    url = str(getattr(settings, "ROUTING_OSRM_URL", "") or "").strip()
    if url:
        return OsrmDistance(base_url=url)
    return HaversineDistance(road_factor=road_factor, speed_kmh=speed_kmh)
