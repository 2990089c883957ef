"""Import and export pages: upload → dry run → confirm; templates, error reports, exports.

Thin views over ``jinggeng.core.tabular``: the upload is kept under MEDIA_ROOT/imports/<uuid>
between the dry run and the confirmation, visible to its uploader only (404 for anyone else).
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jinggeng.core.errors import DomainError, NotFound, PermissionDenied
from jinggeng.core.htmx import render_page
from jinggeng.core.tabular import registry
from jinggeng.core.tabular.engine import (
    ATOMIC,
    DRY_RUN,
    VALID_ONLY,
    ImportReport,
    run_export,
    run_import,
    write_error_report,
)
from jinggeng.core.tabular.readers import check_size
from jinggeng.core.tabular.spec import ExportSpec, ImportSpec, has_permissions
from jinggeng.core.tabular.uploads import StoredImport, load_upload, store_upload
from jinggeng.core.tabular.writers import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, XlsxWriter, write_table

SHOW_ROWS = 200
UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and the other form fields
MODE_CHOICES = [
    (ATOMIC, gettext_lazy("整体导入：有任何一行出错则全部不导入")),
    (VALID_ONLY, gettext_lazy("只导入有效行，跳过出错的行")),
]


class UploadForm(forms.Form):
    entity = forms.ChoiceField(label=gettext_lazy("导入内容"))
    mode = forms.ChoiceField(
        label=gettext_lazy("导入方式"), choices=MODE_CHOICES, initial=ATOMIC, widget=forms.RadioSelect
    )
    file = forms.FileField(label=gettext_lazy("文件（.xlsx 或 .csv）"))

    def __init__(self, *args: Any, specs: list[ImportSpec], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [(s.entity, s.verbose_name) for s in specs]  # type: ignore[attr-defined]


class ConfirmForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("导入方式"), choices=MODE_CHOICES, initial=ATOMIC, widget=forms.RadioSelect
    )


def _import_spec_for(user: Any, entity: str) -> ImportSpec:
    spec = registry.import_spec(entity)
    if spec is None or not has_permissions(user, spec.permissions):
        raise Http404(_("不能导入此类数据"))
    return spec


def _stored(request: HttpRequest, token: Any) -> StoredImport:
    try:
        return load_upload(user=request.user, token=str(token))
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """What the user may import and export; the upload form. A POST uploads and runs a dry run."""
    importable = registry.importable_by(request.user)
    exportable = registry.exportable_by(request.user)
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if request.method == "POST" and declared > int(settings.IMPORT_MAX_BYTES) + UPLOAD_OVERHEAD:
        # Refused from the declared length alone: the upload is neither examined nor kept. (The
        # web server should cap request bodies too: Django parses them for the CSRF check.)
        try:
            check_size(declared - UPLOAD_OVERHEAD)
        except DomainError as exc:
            context = {
                "form": UploadForm(specs=importable, initial={"mode": ATOMIC}),
                "file_error": exc.message,
                "importable": importable,
                "exportable": exportable,
            }
            response = render_page(request, "core/import_list.html", context, status=413)
            response["Connection"] = "close"
            return response
    form = UploadForm(request.POST or None, request.FILES or None, specs=importable, initial={"mode": ATOMIC})
    file_error = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            spec = _import_spec_for(request.user, form.cleaned_data["entity"])
            upload = form.cleaned_data["file"]
            stored: StoredImport | None = None
            try:
                stored = store_upload(
                    user=request.user,
                    entity=spec.entity,
                    mode=form.cleaned_data["mode"],
                    filename=upload.name,
                    content=upload,
                    size=upload.size,
                )
                report = run_import(spec, stored.path, request.user, DRY_RUN, filename=stored.filename)
            except DomainError as exc:
                file_error = exc.message
                status = 400
                if stored is not None:
                    stored.discard_file()
                    stored.meta_path.unlink(missing_ok=True)
            else:
                stored.dry_run = report.to_dict()
                stored.save()
                return redirect("import_detail", token=stored.token)
        else:
            status = 400
    context = {"form": form, "file_error": file_error, "importable": importable, "exportable": exportable}
    return render_page(request, "core/import_list.html", context, status=status)


def _detail_context(stored: StoredImport, spec: ImportSpec, **extra: Any) -> dict[str, Any]:
    report = stored.latest_report()
    assert report is not None
    return {
        "stored": stored,
        "spec": spec,
        "report": report,
        "dry_run": stored.dry_run_report(),
        "result": stored.result_report(),
        "refused_rows": report.refused_rows[:SHOW_ROWS],
        "warning_rows": report.warning_rows[:SHOW_ROWS],
        "more_refused": max(0, report.refused - SHOW_ROWS),
        "more_warnings": max(0, report.warned - SHOW_ROWS),
        "outcome_rows": report.rows[:SHOW_ROWS],
        "more_outcomes": len(report.rows) > SHOW_ROWS,
        "confirm_form": ConfirmForm(initial={"mode": stored.mode}),
        "can_confirm": stored.has_file and not (stored.result and stored.result.get("committed")),
        **extra,
    }


@login_required
@require_GET
def import_detail(request: HttpRequest, token: Any) -> HttpResponse:
    """The dry run (or the import's result): counts, refused rows, warnings, the confirm button."""
    stored = _stored(request, token)
    spec = _import_spec_for(request.user, stored.entity)
    return render_page(request, "core/import_detail.html", _detail_context(stored, spec), fragment="result")


@login_required
@require_POST
def import_confirm(request: HttpRequest, token: Any) -> HttpResponse:
    """Run the real import of a stored upload in the chosen mode."""
    stored = _stored(request, token)
    spec = _import_spec_for(request.user, stored.entity)
    form = ConfirmForm(request.POST)
    if not form.is_valid() or not stored.has_file:
        context = _detail_context(
            stored, spec, error=_("请选择导入方式") if stored.has_file else _("文件已导入或已过期")
        )
        return render_page(request, "core/import_detail.html", context, fragment="result", status=400)
    try:
        with stored.running():
            report = run_import(spec, stored.path, request.user, form.cleaned_data["mode"], filename=stored.filename)
            stored.mode = form.cleaned_data["mode"]
            stored.result = report.to_dict()
            if report.committed:
                stored.discard_file()
            stored.save()
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except DomainError as exc:
        context = _detail_context(stored, spec, error=exc.message)
        return render_page(request, "core/import_detail.html", context, fragment="result", status=400)
    return render_page(request, "core/import_detail.html", _detail_context(stored, spec), fragment="result")


def _spool() -> IO[bytes]:
    """A temporary file for a download; FileResponse closes (and so deletes) it when sent."""
    return tempfile.TemporaryFile()


def _download(report: ImportReport, fmt: str, name: str) -> FileResponse:
    handle = _spool()
    write_error_report(report, handle, fmt)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type=XLSX_CONTENT_TYPE if fmt == "xlsx" else CSV_CONTENT_TYPE,
    )


@login_required
@require_GET
def import_errors(request: HttpRequest, token: Any) -> FileResponse:
    """The error report (row, column, message; warnings after the errors) as .xlsx or .csv."""
    stored = _stored(request, token)
    _import_spec_for(request.user, stored.entity)
    report = stored.latest_report()
    if report is None:
        raise Http404(_("没有错误报告"))
    fmt = "csv" if request.GET.get("format") == "csv" else "xlsx"
    return _download(report, fmt, f"{stored.entity}-errors-{stored.token[:8]}.{fmt}")


@login_required
@require_GET
def import_template(request: HttpRequest, entity: str) -> FileResponse:
    """An empty file with the entity's headers in the user's language (xlsx: plus a help sheet)."""
    spec = _import_spec_for(request.user, entity)
    fmt = "csv" if request.GET.get("format") == "csv" else "xlsx"
    columns = list(spec.columns())
    handle = _spool()
    if fmt == "xlsx":
        writer = XlsxWriter(handle, title=str(spec.verbose_name))
        writer.write_row([f"{c.label()} *" if c.required else c.label() for c in columns])
        help_rows: list[list[Any]] = [[_("列"), _("键"), _("必填"), _("说明")]]
        help_rows += [[c.label(), c.key, _("是") if c.required else "", str(c.help)] for c in columns]
        writer.add_sheet(_("填写说明"), help_rows)
        writer.close()
    else:
        write_table("csv", handle, columns, [])
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{spec.entity}-template.{fmt}",
        content_type=XLSX_CONTENT_TYPE if fmt == "xlsx" else CSV_CONTENT_TYPE,
    )


def _export_spec_for(user: Any, entity: str) -> ExportSpec:
    spec = registry.export_spec(entity)
    if spec is None:
        raise Http404(_("不能导出此类数据"))
    if not has_permissions(user, spec.permissions):
        raise DjangoPermissionDenied(_("您没有导出此类数据的权限"))
    return spec


@login_required
@require_GET
def export_download(request: HttpRequest, entity: str) -> HttpResponseBase:
    """Everything the user may see of ``entity``, filtered by the query string like the list."""
    spec = _export_spec_for(request.user, entity)
    fmt = request.GET.get("format", "xlsx")
    filters = {k: str(v) for k, v in request.GET.items() if k != "format" and v != ""}
    handle = _spool()
    try:
        run_export(spec, handle, request.user, fmt, filters=filters)
    except PermissionDenied as exc:
        handle.close()
        raise DjangoPermissionDenied(exc.message) from exc
    except DomainError as exc:
        handle.close()
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    handle.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{spec.entity}-{stamp}.{fmt}",
        content_type=XLSX_CONTENT_TYPE if fmt == "xlsx" else CSV_CONTENT_TYPE,
    )
