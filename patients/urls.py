from django.urls import path

from patients import record_views, views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create_view, name="create"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/consent/", views.patient_consent_renew_view, name="consent_renew"),
    path("<int:pk>/timeline/", record_views.patient_timeline, name="timeline"),
    path("<int:pk>/export/", record_views.patient_export_html, name="export_html"),
    path("<int:pk>/export.json", record_views.patient_export_json, name="export_json"),
    path("<int:pk>/erase/", record_views.patient_erase_view, name="erase"),
    path("<int:pk>/treatments/new/", views.treatment_create_view, name="treatment_create"),
    path("treatments/<int:pk>/", views.treatment_detail, name="treatment_detail"),
]
