from __future__ import annotations

import factory

from jinggeng.customers.models import Account, AccountType, Contact
from jinggeng.customers.normalize import normalize_name


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"测试便利店{n}号")
    name_key = factory.LazyAttribute(lambda o: normalize_name(o.name))
    account_type = AccountType.OUTLET
    division_id = "310115"  # 上海市浦东新区
    city_code = factory.LazyAttribute(lambda o: o.division_id[:4] + "00")
    org_unit = factory.LazyAttribute(lambda o: o.owner.employee.org_unit if o.owner else None)
    owner = None
    latitude = factory.Sequence(lambda n: 31.2 + n * 0.001)
    longitude = 121.5


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"联系人{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
