from django.urls import path

from jinggeng.pipeline import views

app_name = "pipeline"
urlpatterns = [
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/new/", views.lead_form, name="lead_create"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:lead_id>/edit/", views.lead_form, name="lead_edit"),
    path("leads/<int:lead_id>/assign/", views.lead_assign, name="lead_assign"),
    path("leads/<int:lead_id>/convert/", views.lead_convert, name="lead_convert"),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_form, name="opportunity_create"),
    path("opportunities/<int:opportunity_id>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:opportunity_id>/edit/", views.opportunity_form, name="opportunity_edit"),
    path("opportunities/<int:opportunity_id>/move/", views.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:opportunity_id>/lines/", views.opportunity_add_line, name="opportunity_add_line"),
    path("board/", views.board, name="board"),
    path("board/<int:pipeline_id>/", views.board, name="board_pipeline"),
    path("funnel/", views.funnel, name="funnel"),
    path("funnel/<int:pipeline_id>/", views.funnel, name="funnel_pipeline"),
    path("activities/", views.activity_list, name="activity_list"),
    path("activities/new/", views.activity_form, name="activity_create"),
    path("activities/<int:activity_id>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:activity_id>/complete/", views.activity_complete, name="activity_complete"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/feed/", views.calendar_feed, name="calendar_feed"),
    path("ical/<str:token>.ics", views.ical_feed, name="ical_feed"),
]
