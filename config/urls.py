from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("jinggeng.core.urls")),
    path("org/", include("jinggeng.org.urls")),
    path("catalog/", include("jinggeng.catalog.urls")),
    path("customers/", include("jinggeng.customers.urls")),
    path("pipeline/", include("jinggeng.pipeline.urls")),
    path("orders/", include("jinggeng.orders.urls")),
    path("field/", include("jinggeng.field.urls")),
    path("insights/", include("jinggeng.insights.urls")),
]
