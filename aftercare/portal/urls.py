from django.urls import path

from aftercare.portal import views as patient_views

app_name = "patient"

urlpatterns = [
    path("<slug:clinic_slug>/today/", patient_views.today, name="today"),
    path("<slug:clinic_slug>/timeline/", patient_views.timeline, name="timeline"),
    path("<slug:clinic_slug>/warning-signs/", patient_views.warning_signs, name="warning_signs"),
    path("<slug:clinic_slug>/report/", patient_views.report, name="report"),
    path("<slug:clinic_slug>/report/sent/", patient_views.report_sent, name="report_sent"),
    # Before the emailed link's <token>/ below: these words are not tokens.
    path("<slug:clinic_slug>/new-link/", patient_views.new_link, name="new_link"),
    path("<slug:clinic_slug>/new-link/sent/", patient_views.new_link_sent, name="new_link_sent"),
    path("<slug:clinic_slug>/aftercare.ics", patient_views.calendar_file, name="calendar"),
    path("<slug:clinic_slug>/unsubscribe/", patient_views.unsubscribe, name="unsubscribe"),
    path("<slug:clinic_slug>/reminders/", patient_views.how_we_remind, name="how_we_remind"),
    path(
        "<slug:clinic_slug>/unsubscribe/<str:token>/",
        patient_views.list_unsubscribe,
        name="list_unsubscribe",
    ),
    path("<slug:clinic_slug>/<str:token>/", patient_views.open_link, name="open"),
    # The List-Unsubscribe URL of emails sent before list_unsubscribe: kept for good.
    path(
        "<slug:clinic_slug>/<str:token>/unsubscribe/",
        patient_views.one_click_unsubscribe,
        name="one_click_unsubscribe",
    ),
]
