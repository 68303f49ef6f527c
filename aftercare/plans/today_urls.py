"""Staff Today at the site's root, included by the root URLconf (clinic/urls.py) by name,
so that the clinic app imports nothing from aftercare."""

from django.urls import path

from aftercare.plans import views

urlpatterns = [path("", views.today, name="home")]
