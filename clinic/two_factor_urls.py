from django.urls import path

from clinic import two_factor_views

app_name = "two_factor"

urlpatterns = [
    path("verify/", two_factor_views.verify, name="verify"),
    path("setup/", two_factor_views.setup, name="setup"),
    path("recovery-codes/", two_factor_views.recovery_codes, name="recovery_codes"),
]
