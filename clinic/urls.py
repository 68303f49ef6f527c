from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clinic import health
from clinic.login_forms import AdminLoginForm, StaffLoginForm

# The admin's own login page (/admin/login/) refuses impossible usernames as the staff one does.
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", include("aftercare.plans.today_urls")),
    path("staff/", include("clinic.staff_urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=StaffLoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", include("clinic.two_factor_urls")),
    path("patients/", include("patients.urls")),
    path("aftercare/", include("aftercare.plans.urls")),
    path("p/", include("aftercare.portal.urls")),
    path("admin/", admin.site.urls),
    path("anymail/", include("aftercare.delivery.webhook_urls")),
    # Answered by clinic.health.HealthCheckMiddleware; named here so they can be reversed.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
