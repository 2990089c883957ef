"""JSON API of the field app: visits."""

from __future__ import annotations

from ninja import Router

router = Router()
