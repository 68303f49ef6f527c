from django.urls import path

from aftercare import views

app_name = "aftercare"

urlpatterns = [
    path("treatments/<int:pk>/regenerate/", views.plan_regenerate, name="regenerate"),
    path("plans/<int:pk>/sheet/", views.plan_sheet, name="sheet"),
    path("reminders/<int:pk>/resend/", views.reminder_resend, name="reminder_resend"),
    path("patients/<int:pk>/stop-reminders/", views.patient_reminders_stop, name="stop_reminders"),
    path("sent/<int:pk>/", views.sent_message_detail, name="sent_message"),
]
