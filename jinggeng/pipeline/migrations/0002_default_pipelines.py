"""Default pipelines (大客户项目, 经销商招募) with Chinese stage names and probabilities, and
the default loss reasons. Editable afterwards in the admin."""

from django.db import migrations

PIPELINES = [
    (
        "key_account",
        "大客户项目",
        21,
        [
            ("初步接触", 10, [], False, False),
            ("需求确认", 25, ["expected_close_date"], False, False),
            ("方案报价", 50, ["expected_close_date", "amount", "lines"], False, False),
            ("商务谈判", 75, ["expected_close_date", "amount", "lines", "next_step"], False, False),
            ("赢单", 100, ["amount"], True, False),
            ("丢单", 0, [], False, True),
        ],
    ),
    (
        "distributor_recruitment",
        "经销商招募",
        14,
        [
            ("意向沟通", 10, [], False, False),
            ("资质评估", 30, ["next_step"], False, False),
            ("实地考察", 50, ["expected_close_date"], False, False),
            ("合同谈判", 80, ["expected_close_date", "amount"], False, False),
            ("签约", 100, ["amount"], True, False),
            ("未合作", 0, [], False, True),
        ],
    ),
]

LOSS_REASONS = ["价格偏高", "竞品胜出", "客户预算不足", "需求取消", "交付周期不满足", "失去联系", "其他"]


def create_defaults(apps, schema_editor):
    Pipeline = apps.get_model("pipeline", "Pipeline")
    Stage = apps.get_model("pipeline", "Stage")
    LossReason = apps.get_model("pipeline", "LossReason")
    for code, name, stale_days, stages in PIPELINES:
        pipeline, created = Pipeline.objects.get_or_create(code=code, defaults={"name": name, "stale_days": stale_days})
        if not created:
            continue
        for order, (stage_name, probability, required, is_won, is_lost) in enumerate(stages, start=1):
            Stage.objects.create(
                pipeline=pipeline,
                name=stage_name,
                order=order,
                probability=probability,
                required_fields=required,
                is_won=is_won,
                is_lost=is_lost,
            )
    for order, reason in enumerate(LOSS_REASONS, start=1):
        LossReason.objects.get_or_create(name=reason, defaults={"order": order})


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
