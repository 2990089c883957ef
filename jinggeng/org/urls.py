from django.urls import URLPattern, path

from jinggeng.org import views

app_name = "org"
urlpatterns: list[URLPattern] = [
    path("units/", views.unit_list, name="unit_list"),
    path("units/new/", views.unit_create, name="unit_create"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path("units/<int:pk>/delete/", views.unit_delete, name="unit_delete"),
    path("employees/", views.employee_list, name="employee_list"),
    path("employees/new/", views.employee_create, name="employee_create"),
    path("employees/<int:pk>/", views.employee_detail, name="employee_detail"),
    path("employees/<int:pk>/edit/", views.employee_edit, name="employee_edit"),
    path("employees/<int:pk>/leave/", views.employee_leave, name="employee_leave"),
    path("territories/", views.territory_list, name="territory_list"),
    path("territories/new/", views.territory_create, name="territory_create"),
    path("territories/<int:pk>/", views.territory_detail, name="territory_detail"),
    path("territories/<int:pk>/edit/", views.territory_edit, name="territory_edit"),
    path("territories/<int:pk>/delete/", views.territory_delete, name="territory_delete"),
]
