"""The importable and exportable entities, registered by each app's ``importers.py``.

``CoreConfig.ready`` runs ``autodiscover_modules("importers")``, so an app only has to define
its specs and call ``register``. Core imports no domain app: it only knows what was registered.
"""

from __future__ import annotations

from typing import Any

from jinggeng.core.tabular.spec import ExportSpec, ImportSpec, has_permissions

_importers: dict[str, ImportSpec] = {}
_exporters: dict[str, ExportSpec] = {}


def register(spec: Any) -> Any:
    """Register an import spec, an export spec, or an object that is both. Returns ``spec``."""
    known = False
    if isinstance(spec, ImportSpec):
        _importers[spec.entity] = spec
        known = True
    if isinstance(spec, ExportSpec):
        _exporters[spec.entity] = spec
        known = True
    if not known:
        raise TypeError(f"{spec!r} is neither an ImportSpec nor an ExportSpec")
    return spec


def unregister(entity: str) -> None:
    _importers.pop(entity, None)
    _exporters.pop(entity, None)


def import_spec(entity: str) -> ImportSpec | None:
    return _importers.get(entity)


def export_spec(entity: str) -> ExportSpec | None:
    return _exporters.get(entity)


def entities() -> list[str]:
    return sorted(set(_importers) | set(_exporters))


def importable_by(actor: Any) -> list[ImportSpec]:
    return [s for name, s in sorted(_importers.items()) if has_permissions(actor, s.permissions)]


def exportable_by(actor: Any) -> list[ExportSpec]:
    return [s for name, s in sorted(_exporters.items()) if has_permissions(actor, s.permissions)]
