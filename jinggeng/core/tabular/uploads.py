"""Uploaded import files kept between the dry run and the confirmation.

Each upload is stored as ``MEDIA_ROOT/imports/<uuid>`` with a sidecar ``<uuid>.json`` that
records who uploaded it, for which entity, and the latest report. Only the uploader can see or
confirm it; for anyone else it does not exist (NotFound).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.errors import Conflict, NotFound
from jinggeng.core.tabular.engine import ImportReport
from jinggeng.core.tabular.readers import check_size


def imports_dir() -> Path:
    directory = Path(settings.MEDIA_ROOT) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@dataclass
class StoredImport:
    token: str
    user_id: int
    entity: str
    filename: str
    mode: str
    uploaded_at: str
    dry_run: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return imports_dir() / self.token

    @property
    def meta_path(self) -> Path:
        return imports_dir() / f"{self.token}.json"

    @property
    def has_file(self) -> bool:
        return self.path.is_file()

    def dry_run_report(self) -> ImportReport | None:
        return ImportReport.from_dict(self.dry_run) if self.dry_run else None

    def result_report(self) -> ImportReport | None:
        return ImportReport.from_dict(self.result) if self.result else None

    def latest_report(self) -> ImportReport | None:
        return self.result_report() or self.dry_run_report()

    def save(self) -> None:
        data = {
            "token": self.token,
            "user_id": self.user_id,
            "entity": self.entity,
            "filename": self.filename,
            "mode": self.mode,
            "uploaded_at": self.uploaded_at,
            "dry_run": self.dry_run,
            "result": self.result,
            "extra": self.extra,
        }
        temp = self.meta_path.with_suffix(".tmp")
        temp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        temp.replace(self.meta_path)

    def discard_file(self) -> None:
        self.path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Held while the upload is being imported: a second confirmation (a double click, a
        second tab) is refused instead of importing the file twice."""
        lock = imports_dir() / f"{self.token}.lock"
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            raise Conflict(_("这个文件正在导入，请稍候刷新页面查看结果"), code="import_running") from None
        os.close(handle)
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)


KEEP_FOR = dt.timedelta(days=7)


def purge_stale_uploads(*, older_than: dt.timedelta = KEEP_FOR) -> int:
    """Delete stored uploads and reports older than ``older_than``; returns how many files."""
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in imports_dir().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:  # removed meanwhile by another worker
            continue
    return removed


def store_upload(*, user: Any, entity: str, mode: str, filename: str, content: IO[bytes], size: int) -> StoredImport:
    """Save an uploaded file (size checked first) for ``user``."""
    check_size(size)
    purge_stale_uploads()
    stored = StoredImport(
        token=str(uuid.uuid4()),
        user_id=int(user.pk),
        entity=entity,
        filename=Path(filename).name[:200],
        mode=mode,
        uploaded_at=timezone.now().isoformat(),
    )
    with open(stored.path, "wb") as target:
        while chunk := content.read(1 << 20):
            target.write(chunk)
    stored.path.chmod(0o600)
    stored.save()
    return stored


def load_upload(*, user: Any, token: str) -> StoredImport:
    """The stored upload ``token`` of ``user``; NotFound when missing or someone else's."""
    try:
        clean = str(uuid.UUID(str(token)))
    except ValueError:
        raise NotFound(_("导入记录不存在")) from None
    meta = imports_dir() / f"{clean}.json"
    if not meta.is_file():
        raise NotFound(_("导入记录不存在"))
    data = json.loads(meta.read_text(encoding="utf-8"))
    if data.get("user_id") != getattr(user, "pk", None):
        raise NotFound(_("导入记录不存在"))
    known = {k: v for k, v in data.items() if k in StoredImport.__dataclass_fields__}
    return StoredImport(**known)
