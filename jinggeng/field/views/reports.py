"""HTML views of the field app: reports."""

from __future__ import annotations
