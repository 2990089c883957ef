"""JSON API of the field app: reports."""

from __future__ import annotations

from ninja import Router

router = Router()
