"""HTML views of the field app: stock."""

from __future__ import annotations
