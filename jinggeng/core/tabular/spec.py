"""What an importable / exportable entity declares: its columns and how rows become records.

An app describes each entity once in its ``importers.py`` and registers it (see ``registry``):

* an :class:`ImportSpec` validates a batch of rows in ``prepare`` (preloading what it looks up,
  so a batch costs a few queries, not one per row) and writes the valid ones in ``commit``;
* an :class:`ExportSpec` yields the rows an actor may see, filtered like the lists.

The engine (``engine.run_import``) reads the file, matches the headers to the columns, feeds the
rows in batches, and builds the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from django.db import models
from django.utils import translation
from django.utils.functional import Promise

from jinggeng.core.errors import DomainError

Action = Literal["create", "update", "refuse"]
CREATE: Action = "create"
UPDATE: Action = "update"
REFUSE: Action = "refuse"


@dataclass(frozen=True)
class Column:
    """One column of a spreadsheet. ``key`` is stable (used by code and accepted as a header);
    ``label_zh`` is the Chinese header (a gettext msgid) and ``label_en`` the English one."""

    key: str
    label_zh: str | Promise
    label_en: str
    required: bool = False
    help: str | Promise = ""

    def label(self, language: str | None = None) -> str:
        """The header in ``language`` (the active language by default)."""
        lang = language or translation.get_language() or "zh-hans"
        if lang.lower().startswith("en"):
            # The English catalogue's translation when it has one, so headers match the UI.
            with translation.override("en"):
                translated = str(self.label_zh)
            with translation.override("zh-hans"):
                source = str(self.label_zh)
            return translated if translated != source else self.label_en
        with translation.override(lang):
            return str(self.label_zh)

    def names(self) -> set[str]:
        """Every header that means this column, normalised (see ``header_key``)."""
        found = {header_key(self.key), header_key(self.label_en)}
        for lang in ("zh-hans", "en"):
            with translation.override(lang):
                found.add(header_key(str(self.label_zh)))
        found.discard("")
        return found


def header_key(text: Any) -> str:
    """How a header cell is compared: trimmed, case-folded, without a trailing required mark
    ("*") and without spaces, so "名称 *", "Name" and "name" all match."""
    value = "" if text is None else str(text)
    value = value.replace("\ufeff", "").strip().rstrip("*＊").strip().casefold()
    return "".join(value.split())


@dataclass
class CellError:
    """A problem in one row: ``column`` is a column key ("" when it concerns the whole row)."""

    column: str
    message: str


@dataclass
class RowOutcome:
    """What happens to one row. ``row`` is the row number as the spreadsheet shows it.

    ``payload`` is whatever the spec needs to write the row in ``commit`` (a cleaned record, a
    data dict); the engine drops it once the batch is written."""

    row: int
    action: Action
    label: str = ""
    errors: list[CellError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    payload: Any = None

    def refuse(self, column: str, message: str) -> None:
        self.errors.append(CellError(column, str(message)))
        self.action = REFUSE

    @property
    def refused(self) -> bool:
        return self.action == REFUSE


@dataclass(frozen=True)
class SourceRow:
    """A row read from a file: the spreadsheet row number and the non-empty cells by column key."""

    number: int
    values: Mapping[str, str]


@dataclass
class CommitResult:
    created: int = 0
    updated: int = 0


def refuse_with(outcome: RowOutcome, error: DomainError, mapping: Mapping[str, str] | None = None) -> None:
    """Refuse ``outcome`` with a service's error; ``mapping`` renames its fields to column keys."""
    if not error.field_errors:
        outcome.refuse("", error.message)
        return
    for name, messages in error.field_errors.items():
        column = (mapping or {}).get(name, name)
        for message in messages:
            outcome.refuse(column, message)


@runtime_checkable
class ImportSpec(Protocol):
    """An importable entity (see the module docstring)."""

    entity: str  # "accounts", "products", …
    verbose_name: str | Promise
    permissions: tuple[str, ...]  # every one is required
    identity: str  # the column whose value identifies a record ("code"); "" when none
    batch_size: int
    dry_run_writes: bool  # True: a dry run writes and rolls back (prepare alone cannot tell everything)
    model: type[models.Model]

    def columns(self) -> Sequence[Column]: ...

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]: ...

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult: ...


@runtime_checkable
class ExportSpec(Protocol):
    """An exportable entity: the columns, and the rows ``actor`` may see with ``filters``."""

    entity: str
    verbose_name: str | Promise
    permissions: tuple[str, ...]

    def columns(self) -> Sequence[Column]: ...

    def rows(self, actor: Any, filters: Mapping[str, str]) -> Iterable[Mapping[str, Any]]: ...


def has_permissions(actor: Any, permissions: Iterable[str]) -> bool:
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return False
    return all(actor.has_perm(p) for p in permissions)


def choice_lookup(choices: Iterable[tuple[Any, Any]]) -> dict[str, str]:
    """Every way a user may write a choice (its code, its Chinese or English label),
    case-folded, mapped to the code: "经销商", "Distributor" and "distributor" alike."""
    lookup: dict[str, str] = {}
    items = list(choices)
    for lang in ("zh-hans", "en"):
        with translation.override(lang):
            for code, label in items:
                lookup.setdefault(header_key(label), str(code))
    for code, _label in items:
        lookup[header_key(code)] = str(code)
    return lookup
