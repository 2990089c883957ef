from django.urls import path

from jinggeng.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.account_list, name="account_list"),
    path("new/", views.account_form, name="account_create"),
    path("map/", views.account_map, name="account_map"),
    path("transfer-all/", views.transfer_all, name="transfer_all"),
    path("divisions/", views.division_options, name="division_options"),
    path("<int:account_id>/", views.account_detail, name="account_detail"),
    path("<int:account_id>/edit/", views.account_form, name="account_edit"),
    path("<int:account_id>/transfer/", views.account_transfer, name="account_transfer"),
    path("<int:account_id>/merge/", views.account_merge, name="account_merge"),
    path("<int:account_id>/contacts/new/", views.contact_form, name="contact_create"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:contact_id>/edit/", views.contact_form, name="contact_edit"),
]
