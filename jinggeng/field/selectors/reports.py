"""Reads of the field app: reports. Every list is scoped to the actor."""

from __future__ import annotations
