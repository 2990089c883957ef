"""A pytest plugin loaded before Django's settings (``-p jinggeng.core.tests.plain_http`` in
pyproject.toml): tests serve plain HTTP — the test client and the live server of the browser
tests — so the production HTTPS redirect and secure-only cookies are turned off. The
security middleware reads these settings once, when the live server starts, so they must hold
from the start rather than be overridden per test."""

from __future__ import annotations

import os

os.environ.setdefault("SECURE_HTTPS", "0")
