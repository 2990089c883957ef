"""JSON API for customers: thin endpoints over services and selectors."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Query, Router, Schema, Status

from jinggeng.core.api import HISTORY_LIMIT, AuditEntryOut, Row, json_response
from jinggeng.core.models import AuditLog
from jinggeng.customers import selectors, services
from jinggeng.customers.models import Contact, SupplyLink
from jinggeng.customers.schemas import (
    AccountIn,
    AccountOut,
    AccountPage,
    AccountPatch,
    ChannelTypeOut,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    CustomFieldOut,
    DuplicateOut,
    MapPoint,
    MergeIn,
    OwnershipOut,
    SupplyLinkIn,
    SupplyLinkOut,
    SupplyLinkPage,
    TransferAllIn,
    TransferAllOut,
    TransferIn,
)

router = Router(tags=["customers"])


def person_name(user: Any) -> str | None:
    if user is None:
        return None
    employee = getattr(user, "employee", None) if hasattr(user, "employee") else None
    try:
        return employee.name if employee else user.username  # type: ignore[no-any-return]
    except Exception:
        return str(user.username)


def account_out(r: dict[str, Any], tags: list[str], *, en: bool) -> dict[str, Any]:
    """The detail shape (AccountOut) from ``selectors.account_detail_values``."""
    return {
        **account_row(r, en=en),
        "short_name": r["short_name"],
        "channel_type": r["channel_type__code"],
        "credit_rating": r["credit_rating"],
        "credit_limit": r["credit_limit"],
        "tax_id": r["tax_id"],
        "address": r["address"],
        "tags": tags,
        "custom": r["custom"],
        "notes": r["notes"],
        "merged_into": r["merged_into_id"],
        "version": r["version"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
    }


def account_detail(request: HttpRequest, account_id: int) -> dict[str, Any]:
    row, tags = selectors.account_detail_values(actor=request.user, account_id=account_id)
    return account_out(row, tags, en=(get_language() or "").startswith("en"))


def account_row(r: dict[str, Any], *, en: bool) -> dict[str, Any]:
    owner = None
    if r["owner_id"]:
        owner = {"id": r["owner_id"], "name": r["owner__employee__name"] or r["owner__username"]}
    return {
        "id": r["id"],
        "code": r["code"],
        "name": r["name"],
        "account_type": r["account_type"],
        "grade": r["grade"],
        "status": r["status"],
        "division": r["division_id"],
        "division_name": r["division__full_name"],
        "phone": r["phone"],
        "owner": owner,
        "org_unit": {
            "id": r["org_unit_id"],
            "name": (r["org_unit__name_en"] if en and r["org_unit__name_en"] else r["org_unit__name"]),
        },
        "latitude": r["latitude"],
        "longitude": r["longitude"],
    }


def history_out(rows: Any) -> list[Any]:
    return list(rows[:HISTORY_LIMIT])


def contact_out(c: Contact) -> dict[str, Any]:
    return {
        "id": c.pk,
        "account": {"id": c.account_id, "name": c.account.name},
        "code": c.code,
        "name": c.name,
        "role": c.role,
        "phone": c.phone,
        "email": c.email,
        "birthday": c.birthday,
        "is_primary": c.is_primary,
        "notes": c.notes,
        "version": c.version,
    }


def link_out(link: SupplyLink) -> dict[str, Any]:
    return {
        "id": link.pk,
        "supplier": {"id": link.supplier_id, "name": link.supplier.name},
        "customer": {"id": link.customer_id, "name": link.customer.name},
        "product_group": link.product_group.code if link.product_group else None,
        "active": link.active,
    }


def _limit(limit: int) -> int:
    return max(1, min(limit, settings.PAGE_SIZE_MAX))


class AccountQuery(Row):
    q: str = ""
    name_contains: str = ""
    account_type: str = ""
    grade: str = ""
    status: str = ""
    division: str = ""
    owner: int | None = None
    org_unit: int | None = None
    channel_type: str = ""
    tag: str = ""
    include_merged: bool = False
    sort: str = "name"
    cursor: str | None = None
    limit: int = 50


def _filters(query: AccountQuery, request: HttpRequest) -> selectors.AccountFilters:
    custom = {k.removeprefix("custom."): str(v) for k, v in request.GET.items() if k.startswith("custom.")}
    return selectors.AccountFilters(
        q=query.q,
        name_contains=query.name_contains,
        account_type=query.account_type,
        grade=query.grade,
        status=query.status,
        division=query.division,
        owner=query.owner,
        org_unit=query.org_unit,
        channel_type=query.channel_type,
        tag=query.tag,
        include_merged=query.include_merged,
        custom=custom,
    )


@router.get("/accounts", response=AccountPage, summary="List accounts in your scope")
def list_accounts(request: HttpRequest, query: Query[AccountQuery]) -> HttpResponse:
    """Cursor pages of the accounts you may see. `q` matches the start of the name (letters
    and digits also match the exact code or phone); `name_contains` matches anywhere; `division` takes a province, city or county code;
    `custom.<key>=value` filters custom fields."""
    page = selectors.account_list_values(
        actor=request.user,
        filters=_filters(query, request),
        sort=query.sort,
        cursor=query.cursor,
        limit=_limit(query.limit),
    )
    en = (get_language() or "").startswith("en")
    # The hottest read of the API: written without ninja's re-validation (``json_response``);
    # test_fast_paths validates real answers against AccountPage.
    return json_response({"items": [account_row(r, en=en) for r in page.items], "next_cursor": page.next_cursor})


@router.post("/accounts", response={201: AccountOut}, summary="Create an account")
def create_account(request: HttpRequest, payload: AccountIn, allow_duplicate: bool = False) -> Status[dict[str, Any]]:
    """A suspected duplicate (same phone, tax id, or normalised name in the same city) answers
    409 `duplicate_suspected` with the candidates; repeat with `allow_duplicate=true` to create anyway."""
    account = services.account_create(actor=request.user, data=payload.dict(), allow_duplicate=allow_duplicate)
    return Status(201, account_detail(request, account.pk))


@router.get("/accounts/duplicates", response=list[DuplicateOut], summary="Check for duplicates before creating")
def check_duplicates(
    request: HttpRequest, name: str = "", phone: str = "", tax_id: str = "", division: str = ""
) -> list[dict[str, Any]]:
    from jinggeng.customers.normalize import normalize_phone, normalize_tax_id

    try:
        phone = normalize_phone(phone) if phone else ""
    except ValueError:
        phone = ""
    try:
        tax_id = normalize_tax_id(tax_id) if tax_id else ""
    except ValueError:
        tax_id = ""
    found = services.account_find_duplicates(
        actor=request.user, name=name, phone=phone, tax_id=tax_id, division=division
    )
    return [
        {"id": c.account_id if c.visible else None, "name": c.name, "reasons": list(c.reasons), "org_unit": c.org_unit}
        for c in found
    ]


@router.get("/accounts/map", response=list[MapPoint], summary="Accounts with coordinates, for the map")
def map_points(request: HttpRequest, query: Query[AccountQuery]) -> list[dict[str, Any]]:
    return selectors.account_map_points(actor=request.user, filters=_filters(query, request))


@router.post("/accounts/transfer-all", response=TransferAllOut, summary="Move all accounts of one owner to another")
def transfer_all(request: HttpRequest, payload: TransferAllIn) -> dict[str, int]:
    moved = services.accounts_transfer_all(
        actor=request.user, from_owner=payload.from_owner, to_owner=payload.to_owner, reason=payload.reason
    )
    return {"moved": moved}


@router.get("/accounts/{account_id}", response=AccountOut)
def get_account(request: HttpRequest, account_id: int) -> dict[str, Any]:
    return account_detail(request, account_id)


@router.patch("/accounts/{account_id}", response=AccountOut)
def update_account(request: HttpRequest, account_id: int, payload: AccountPatch) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    services.account_update(actor=request.user, account_id=account_id, data=data, expected_version=version)
    return account_detail(request, account_id)


@router.delete("/accounts/{account_id}", response={204: None})
def delete_account(request: HttpRequest, account_id: int) -> Status[None]:
    services.account_delete(actor=request.user, account_id=account_id)
    return Status(204, None)


@router.get("/accounts/{account_id}/history", response=list[AuditEntryOut])
def account_history(request: HttpRequest, account_id: int) -> list[Any]:
    return history_out(selectors.account_history(actor=request.user, account_id=account_id))


@router.get("/accounts/{account_id}/ownership", response=list[OwnershipOut])
def account_ownership(request: HttpRequest, account_id: int) -> list[dict[str, Any]]:
    rows = selectors.account_ownership_history(actor=request.user, account_id=account_id)
    return [
        {
            "changed_at": r.changed_at,
            "from_owner": person_name(r.from_owner),
            "to_owner": person_name(r.to_owner),
            "changed_by": person_name(r.changed_by),
            "reason": r.reason,
        }
        for r in rows
    ]


@router.post("/accounts/{account_id}/transfer", response=AccountOut)
def transfer_account(request: HttpRequest, account_id: int, payload: TransferIn) -> dict[str, Any]:
    services.account_transfer(
        actor=request.user, account_id=account_id, to_owner=payload.to_owner, reason=payload.reason
    )
    return account_detail(request, account_id)


@router.post("/accounts/{account_id}/merge", response=AccountOut, summary="Merge another account into this one")
def merge_account(request: HttpRequest, account_id: int, payload: MergeIn) -> dict[str, Any]:
    services.account_merge(
        actor=request.user, survivor_id=account_id, merged_id=payload.merged_id, reason=payload.reason
    )
    return account_detail(request, account_id)


@router.get("/contacts", response=ContactPage)
def list_contacts(
    request: HttpRequest,
    q: str = "",
    account_id: int | None = None,
    sort: str = "name",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    page = selectors.contact_list(
        actor=request.user, q=q, account_id=account_id, sort=sort, cursor=cursor, limit=_limit(limit)
    )
    return {"items": [contact_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/contacts", response={201: ContactOut})
def create_contact(request: HttpRequest, payload: ContactIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    account_id = data.pop("account_id")
    contact = services.contact_create(actor=request.user, account_id=account_id, data=data)
    return Status(201, contact_out(selectors.contact_get(actor=request.user, contact_id=contact.pk)))


@router.get("/contacts/{contact_id}", response=ContactOut)
def get_contact(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    return contact_out(selectors.contact_get(actor=request.user, contact_id=contact_id))


@router.patch("/contacts/{contact_id}", response=ContactOut)
def update_contact(request: HttpRequest, contact_id: int, payload: ContactPatch) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    services.contact_update(actor=request.user, contact_id=contact_id, data=data, expected_version=version)
    return contact_out(selectors.contact_get(actor=request.user, contact_id=contact_id))


@router.delete("/contacts/{contact_id}", response={204: None})
def delete_contact(request: HttpRequest, contact_id: int) -> Status[None]:
    services.contact_delete(actor=request.user, contact_id=contact_id)
    return Status(204, None)


@router.get("/contacts/{contact_id}/history", response=list[AuditEntryOut])
def contact_history(request: HttpRequest, contact_id: int) -> list[Any]:
    return history_out(selectors.contact_history(actor=request.user, contact_id=contact_id))


@router.get("/supply-links", response=SupplyLinkPage)
def list_links(
    request: HttpRequest, account_id: int | None = None, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    page = selectors.supply_link_list(actor=request.user, account_id=account_id, cursor=cursor, limit=_limit(limit))
    return {"items": [link_out(link) for link in page.items], "next_cursor": page.next_cursor}


@router.post("/supply-links", response={201: SupplyLinkOut})
def create_link(request: HttpRequest, payload: SupplyLinkIn) -> Status[dict[str, Any]]:
    link = services.supply_link_create(
        actor=request.user,
        supplier_id=payload.supplier_id,
        customer_id=payload.customer_id,
        product_group=payload.product_group,
    )
    link = SupplyLink.objects.select_related("supplier", "customer", "product_group").get(pk=link.pk)
    return Status(201, link_out(link))


class SupplyLinkPatch(Schema):
    active: bool
    version: int | None = None


@router.get("/supply-links/{link_id}", response=SupplyLinkOut)
def get_link(request: HttpRequest, link_id: int) -> dict[str, Any]:
    return link_out(selectors.supply_link_get(actor=request.user, link_id=link_id))


@router.patch("/supply-links/{link_id}", response=SupplyLinkOut)
def update_link(request: HttpRequest, link_id: int, payload: SupplyLinkPatch) -> dict[str, Any]:
    services.supply_link_update(
        actor=request.user, link_id=link_id, active=payload.active, expected_version=payload.version
    )
    return link_out(selectors.supply_link_get(actor=request.user, link_id=link_id))


@router.get("/supply-links/{link_id}/history", response=list[AuditEntryOut])
def link_history(request: HttpRequest, link_id: int) -> list[Any]:
    return history_out(selectors.supply_link_history(actor=request.user, link_id=link_id))


@router.delete("/supply-links/{link_id}", response={204: None})
def delete_link(request: HttpRequest, link_id: int) -> Status[None]:
    services.supply_link_delete(actor=request.user, link_id=link_id)
    return Status(204, None)


@router.get("/channel-types", response=list[ChannelTypeOut])
def channel_types(request: HttpRequest) -> list[Any]:
    return list(selectors.channel_type_list())


@router.get("/custom-fields", response=list[CustomFieldOut])
def custom_fields(request: HttpRequest, account_type: str = "") -> list[Any]:
    return selectors.custom_field_list(account_type=account_type or None)


__all__ = ["AuditLog", "router"]
