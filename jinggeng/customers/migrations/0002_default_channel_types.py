from django.db import migrations

DEFAULTS = [
    ("hypermarket", "大卖场", "Hypermarket"),
    ("supermarket", "超市", "Supermarket"),
    ("convenience", "便利店", "Convenience store"),
    ("grocery", "食杂店", "Grocery"),
    ("restaurant", "餐饮", "Restaurant"),
    ("wholesale_market", "批发市场", "Wholesale market"),
    ("school", "学校", "School"),
    ("internet_cafe", "网吧", "Internet café"),
    ("ecommerce", "电商", "E-commerce"),
    ("enterprise", "企事业单位", "Enterprise / institution"),
]


def create(apps, schema_editor):
    ChannelType = apps.get_model("customers", "ChannelType")
    for order, (code, name, name_en) in enumerate(DEFAULTS):
        ChannelType.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en, "sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
