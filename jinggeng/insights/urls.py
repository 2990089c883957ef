from django.urls import path

from jinggeng.insights import views

app_name = "insights"
urlpatterns = [
    path("3e/", views.three_e_card, name="three_e"),
    path("plan-vs-actual/", views.plan_actual, name="plan_vs_actual"),
    path("coverage/", views.coverage_list, name="coverage"),
    path("competitors/", views.competitors, name="competitors"),
]
