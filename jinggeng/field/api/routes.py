"""JSON API of the field app: routes."""

from __future__ import annotations

from ninja import Router

router = Router()
