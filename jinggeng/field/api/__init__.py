"""JSON API of the field app (``/api/v1/field/``): one router per part."""

from __future__ import annotations

from ninja import Router

from jinggeng.field.api import reports, routes, stock, visits

router = Router(tags=["field"])
router.add_router("", routes.router)
router.add_router("", visits.router)
router.add_router("", stock.router)
router.add_router("", reports.router)
