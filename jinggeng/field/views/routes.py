"""HTML views of the field app: routes."""

from __future__ import annotations
