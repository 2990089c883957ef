"""Reads of the field app: visits. Every list is scoped to the actor."""

from __future__ import annotations
