from django.urls import path

from clinic import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.staff_list, name="list"),
    path("new/", staff_views.staff_create, name="create"),
    path("<int:pk>/", staff_views.staff_edit, name="edit"),
]
