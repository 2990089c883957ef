"""Normalising and checking the values that identify a customer: name, phone, tax id."""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalize_name(name: str) -> str:
    """The key used to find the same customer typed differently: width-folded, lower-case,
    without spaces and punctuation ("上海 惠民（浦东）店" == "上海惠民(浦东)店")."""
    folded = unicodedata.normalize("NFKC", name or "").lower()
    return _PUNCT.sub("", folded)[:120]


def normalize_phone(raw: str) -> str:
    """A mainland mobile (13800138000) or landline (021-12345678); raises ValueError."""
    value = unicodedata.normalize("NFKC", raw or "").strip()
    value = re.sub(r"[\s()（）]", "", value)
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    value = value.lstrip("-")
    if MOBILE.match(value.replace("-", "")) and not value.startswith("0"):
        return value.replace("-", "")
    if LANDLINE.match(value):
        return value
    raise ValueError(_("电话号码格式不正确：%(value)s（手机 11 位，或带区号的固话）") % {"value": raw})


def normalize_tax_id(raw: str) -> str:
    """A unified social credit code (18 characters, check digit verified) or an older
    15-digit tax registration number; raises ValueError."""
    value = unicodedata.normalize("NFKC", raw or "").strip().upper()
    if re.fullmatch(r"\d{15}", value):
        return value
    if len(value) != 18 or any(c not in USCC_CHARS for c in value):
        raise ValueError(_("税号应为 18 位统一社会信用代码：%(value)s") % {"value": raw})
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(value[:17], USCC_WEIGHTS, strict=True))
    check = USCC_CHARS[(31 - total % 31) % 31]
    if value[17] != check:
        raise ValueError(_("统一社会信用代码校验位不正确：%(value)s") % {"value": raw})
    return value


def uscc_with_check_digit(first17: str) -> str:
    """Complete a 17-character code with its check digit (used by the demo and tests)."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return first17 + USCC_CHARS[(31 - total % 31) % 31]
