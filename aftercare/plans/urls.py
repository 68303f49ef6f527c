from django.urls import path

from aftercare.plans import adjust_views, views

app_name = "aftercare"

urlpatterns = [
    path("treatments/<int:pk>/regenerate/", views.plan_regenerate, name="regenerate"),
    path("plans/<int:pk>/sheet/", views.plan_sheet, name="sheet"),
    path("plans/<int:pk>/", adjust_views.plan_revision, name="plan_revision"),
    path(
        "plans/<int:pk>/restrictions/<slug:key>/",
        adjust_views.adjust_restriction,
        name="adjust_restriction",
    ),
    path("plans/<int:pk>/note/", adjust_views.adjust_note, name="adjust_note"),
    path(
        "plans/<int:pk>/reminders/<slug:key>/skip/",
        adjust_views.adjust_skip_reminder,
        name="adjust_skip_reminder",
    ),
    path(
        "plans/<int:pk>/reminders/add/",
        adjust_views.adjust_add_reminder,
        name="adjust_add_reminder",
    ),
    path("patients/<int:pk>/course/", adjust_views.course_create, name="course_create"),
    path("courses/<int:pk>/end/", adjust_views.course_end, name="course_end"),
    path("courses/due/", adjust_views.courses_due, name="courses_due"),
    path("reminders/<int:pk>/resend/", views.reminder_resend, name="reminder_resend"),
    path("patients/<int:pk>/stop-reminders/", views.patient_reminders_stop, name="stop_reminders"),
    path("patients/<int:pk>/revoke-links/", views.patient_links_revoke, name="revoke_links"),
    path("patients/<int:pk>/new-link/", views.patient_link_reissue, name="reissue_link"),
    path("sent/<int:pk>/", views.sent_message_detail, name="sent_message"),
    path("concerns/", views.concern_list, name="concern_list"),
    path("concerns/<int:pk>/", views.concern_detail, name="concern_detail"),
    path("concerns/<int:pk>/photo/", views.concern_photo, name="concern_photo"),
]
