"""What the import and export commands share: finding the acting user and the progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


def acting_user(username: str | None) -> Any:
    if not username:
        raise CommandError(_("请用 --as 指定以哪个用户的身份操作（权限和数据范围按该用户计算）"))
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active:
        raise CommandError(_("用户不存在或已停用：%(name)s") % {"name": username})
    return user


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """A rich progress bar on stderr: stage, rows done (of the total when known), rows/s."""
    if not enabled:
        yield lambda stage, done, total: None
        return
    stages = {"read": _("读取"), "validate": _("校验"), "write": _("写入"), "done": _("完成")}
    started = time.monotonic()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(_("读取"), total=None, rate="")

        def update(stage: str, done: int, total: int | None) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            bar.update(
                task,
                description=stages.get(stage, stage),
                completed=done,
                total=total,
                rate=_("%(rate)d 行/秒") % {"rate": done / elapsed},
            )

        yield update
