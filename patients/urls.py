from django.urls import path

from patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create_view, name="create"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/treatments/new/", views.treatment_create_view, name="treatment_create"),
    path("treatments/<int:pk>/", views.treatment_detail, name="treatment_detail"),
]
