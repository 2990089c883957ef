"""Reads of the field app: stock. Every list is scoped to the actor."""

from __future__ import annotations
