"""Reads of the field app: routes. Every list is scoped to the actor."""

from __future__ import annotations
