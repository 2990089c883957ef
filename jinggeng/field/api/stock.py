"""JSON API of the field app: stock."""

from __future__ import annotations

from ninja import Router

router = Router()
