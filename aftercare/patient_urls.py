from django.urls import path

from aftercare import patient_views

app_name = "patient"

urlpatterns = [
    path("<str:token>/", patient_views.plan_page, name="plan"),
    path("<str:token>/unsubscribe/", patient_views.unsubscribe, name="unsubscribe"),
]
