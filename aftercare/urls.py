from django.urls import path

from aftercare import views

app_name = "aftercare"

urlpatterns = [
    path("treatments/<int:pk>/regenerate/", views.plan_regenerate, name="regenerate"),
    path("plans/<int:pk>/sheet/", views.plan_sheet, name="sheet"),
]
