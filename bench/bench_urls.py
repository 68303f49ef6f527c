"""URLs for bench/patient_page.py only: the project's URLs plus /p/bench-ok/.

The bare view is the baseline: the same server, the same middleware, no
database work of its own and a two-byte body. It sits under /p/ so the patient's
session cookie (path /p/) reaches it and is loaded, as on the Today page.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("p/bench-ok/", ok, name="bench_ok"),
    path("", include("clinic.urls")),
]
