"""Audit changes read as a person reads them: field labels, choice labels, related names."""

from __future__ import annotations

from django.utils import translation

from jinggeng.core.models import AuditAction, AuditLog
from jinggeng.customers.tests.factories import AccountFactory


def test_change_rows_show_labels_choices_and_related_names(rep, teammate):
    account = AccountFactory(owner=rep, name="浦东好邻居")
    log = AuditLog.objects.create(
        actor=rep,
        action=AuditAction.UPDATE,
        entity="customers.account",
        entity_id=str(account.pk),
        changes={
            "grade": ["C", "A"],
            "owner": [rep.pk, teammate.pk],
            "merged_into": [None, 999999],
            "no_such_field": [1, 2],
        },
    )
    with translation.override("zh-hans"):
        rows = {row["field"]: row for row in log.change_rows()}
    assert (rows["grade"]["label"], rows["grade"]["old_display"], rows["grade"]["new_display"]) == ("等级", "C", "A")
    assert rows["owner"]["label"] == "负责人"
    assert rows["owner"]["old_display"] == str(rep) and rows["owner"]["new_display"] == str(teammate)
    assert rows["merged_into"]["old_display"] is None and rows["merged_into"]["new_display"] == "#999999"
    assert rows["no_such_field"] == {
        "field": "no_such_field",
        "label": "no_such_field",
        "old": 1,
        "new": 2,
        "old_display": 1,
        "new_display": 2,
    }
    with translation.override("en"):
        assert {row["field"]: row["label"] for row in log.change_rows()}["grade"] == "Grade"


def test_change_rows_of_a_reverse_relation_keep_the_name(rep):
    log = AuditLog.objects.create(
        actor=rep, action=AuditAction.UPDATE, entity="customers.account", entity_id="1", changes={"contacts": [1, 2]}
    )
    assert log.change_rows()[0]["label"] == "contacts"
