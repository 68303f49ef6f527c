from django.urls import path

from aftercare import views

app_name = "aftercare"

urlpatterns = [
    path("treatments/<int:pk>/regenerate/", views.plan_regenerate, name="regenerate"),
    path("plans/<int:pk>/sheet/", views.plan_sheet, name="sheet"),
    path("reminders/<int:pk>/resend/", views.reminder_resend, name="reminder_resend"),
    path("patients/<int:pk>/stop-reminders/", views.patient_reminders_stop, name="stop_reminders"),
    path("patients/<int:pk>/revoke-links/", views.patient_links_revoke, name="revoke_links"),
    path("patients/<int:pk>/new-link/", views.patient_link_reissue, name="reissue_link"),
    path("sent/<int:pk>/", views.sent_message_detail, name="sent_message"),
    path("concerns/", views.concern_list, name="concern_list"),
    path("concerns/<int:pk>/", views.concern_detail, name="concern_detail"),
    path("concerns/<int:pk>/photo/", views.concern_photo, name="concern_photo"),
]
