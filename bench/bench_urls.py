"""URLs for bench/patient_page.py only: the project's URLs plus /bench/ok/.

The bare view is the baseline: the same server, the same middleware, no
database work of its own and a two-byte body.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("bench/ok/", ok, name="bench_ok"),
    path("", include("clinic.urls")),
]
