"""Writes of the field app: visits."""

from __future__ import annotations
