from django.contrib.auth import views as auth_views
from django.urls import path

from jinggeng.core import import_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Import / export (jinggeng.core.tabular)
    path("import/", import_views.import_list, name="import_list"),
    path("import/template/<slug:entity>/", import_views.import_template, name="import_template"),
    path("import/<uuid:token>/", import_views.import_detail, name="import_detail"),
    path("import/<uuid:token>/confirm/", import_views.import_confirm, name="import_confirm"),
    path("import/<uuid:token>/errors/", import_views.import_errors, name="import_errors"),
    path("export/<slug:entity>/", import_views.export_download, name="export_download"),
    path("notifications/", views.notifications, name="notifications"),
]
