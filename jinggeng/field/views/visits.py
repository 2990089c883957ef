"""HTML views of the field app: visits."""

from __future__ import annotations
