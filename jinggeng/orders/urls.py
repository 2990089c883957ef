from django.urls import path

from jinggeng.orders import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("new/", views.order_create, name="order_create"),
    path("<int:order_id>/", views.order_detail, name="order_detail"),
    path("<int:order_id>/edit/", views.order_edit, name="order_edit"),
    path("<int:order_id>/header/", views.order_header_edit, name="order_header_edit"),
    path("<int:order_id>/lines/", views.order_line_add, name="order_line_add"),
    path("<int:order_id>/lines/<int:line_id>/delete/", views.order_line_delete, name="order_line_delete"),
    path("<int:order_id>/price/", views.order_price, name="order_price"),
    path("<int:order_id>/<str:action>/", views.order_action, name="order_action"),
    path("payments/", views.payment_list, name="payment_list"),
    path("payments/new/", views.payment_create, name="payment_create"),
    path("payments/<int:receipt_id>/", views.payment_detail, name="payment_detail"),
    path("payments/<int:receipt_id>/allocate/", views.payment_allocate, name="payment_allocate"),
    path("allocations/<int:allocation_id>/delete/", views.allocation_delete, name="allocation_delete"),
    path("receivables/", views.receivables, name="receivables"),
    path("receivables/orders/", views.receivable_orders, name="receivable_orders"),
    path("price-lists/", views.pricelist_list, name="pricelist_list"),
    path("price-lists/new/", views.pricelist_form, name="pricelist_create"),
    path("price-lists/<int:price_list_id>/", views.pricelist_detail, name="pricelist_detail"),
    path("price-lists/<int:price_list_id>/edit/", views.pricelist_form, name="pricelist_edit"),
    path("price-lists/<int:price_list_id>/items/", views.pricelist_item_add, name="pricelist_item_add"),
    path(
        "price-lists/<int:price_list_id>/items/<int:item_id>/delete/",
        views.pricelist_item_delete,
        name="pricelist_item_delete",
    ),
    path("contracts/", views.contract_list, name="contract_list"),
    path("contracts/new/", views.contract_form, name="contract_create"),
    path("contracts/<int:contract_id>/", views.contract_detail, name="contract_detail"),
    path("contracts/<int:contract_id>/edit/", views.contract_form, name="contract_edit"),
    path("contracts/attachments/<int:attachment_id>/", views.contract_attachment, name="contract_attachment"),
]
