from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from clinic import health
from clinic.login_forms import AdminLoginForm, StaffLoginForm

# The admin's own login page (/admin/login/) refuses impossible usernames as the staff one does.
admin.site.login_form = AdminLoginForm

# Browsers ask for /favicon.ico wherever a page names no icon (a JSON export, a photo,
# bookmarks, feed readers): send them to the static file. Lazy, because with STATIC_MANIFEST
# the hashed name is only known once collectstatic has run, not when this module is imported.
favicon = RedirectView.as_view(url=lazy(static, str)("favicon.ico"), permanent=True)

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
    path("texts/", include("aftercare.delivery.text_webhooks")),
    # Answered by clinic.health.HealthCheckMiddleware; named here so they can be reversed.
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
