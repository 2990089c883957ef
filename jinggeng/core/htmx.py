"""Rendering pages and their htmx fragments from one template.

A page template defines its fragments with ``{% partialdef name inline %}``; on an htmx
request the view renders only ``"app/page.html#name"``. Views using this must vary on the
``HX-Request`` header (see ``vary_on_headers``) so caches keep both answers apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def render_page(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``template``; for an htmx request that targets a fragment, only that fragment."""
    name = f"{template}#{fragment}" if fragment and is_htmx(request) else template
    response = render(request, name, dict(context), status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
