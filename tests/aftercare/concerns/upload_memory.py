"""Send one photo through the patient's report page in a fresh process; print, as JSON,
how far its memory peaked above where it stood just before the request.

Run by tests/aftercare/concerns/test_concern_photos.py:

    python -m tests.aftercare.concerns.upload_memory OPEN_URL REPORT_URL PHOTO_PATH

with DATABASE_URL pointing at the test database (committed rows: the test is
transactional) and PRIVATE_MEDIA_ROOT at a scratch folder.

How it measures, and why so: Pillow allocates pixels with its own allocator, which
tracemalloc never sees. getrusage's ru_maxrss is no better here: Linux carries a parent's
peak over fork and exec, so a child of a pytest process that once used 400 MB starts at
400 MB and hides any spike below that. VmHWM in /proc/self/status is this process's own
high-water mark, and writing "5" to /proc/self/clear_refs resets it, so the peak of one
request is VmHWM after it minus VmRSS before it.
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
from pathlib import Path


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "pink").save(buffer, format="PNG")
    return buffer.getvalue()


def main(open_url: str, report_url: str, photo_path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.test.utils import setup_test_environment

    from aftercare.models import ConcernReport
    from aftercare.portal.session import PATIENT_COOKIE_NAME
    from aftercare.portal.views import form_token_for_session

    setup_test_environment()  # mail to memory; responses carry their template context
    client = Client()
    if client.get(open_url).status_code != 302:
        raise RuntimeError(f"the patient link {open_url} did not open")
    token = form_token_for_session(client.cookies[PATIENT_COOKIE_NAME].value)

    def post(name: str, data: bytes, details: str):
        photo = SimpleUploadedFile(name, data, content_type="image/png")
        return client.post(report_url, {"details": details, "form_token": token, "photo": photo})

    # The same request with a tiny photo and no words (refused as empty, nothing stored)
    # loads every module and template the measured one needs.
    post("warm-up.png", _tiny_png(), details="")
    photo = Path(photo_path).read_bytes()

    Path("/proc/self/clear_refs").write_text("5")
    rss_before_kb = _status_kb("VmRSS")
    ru_maxrss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = post("cheek.png", photo, details="See the photo")
    peak_kb = _status_kb("VmHWM")
    ru_maxrss_after_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    form = response.context.get("form") if response.context else None
    photo_errors = [error.code for error in form.errors.as_data().get("photo", [])] if form else []
    print(
        json.dumps(
            {
                "status": response.status_code,
                "photo_errors": photo_errors,
                "html": response.content.decode(),
                "reports_stored": ConcernReport.objects.count(),
                "rss_before_kb": rss_before_kb,
                "peak_kb": peak_kb,
                "ru_maxrss_before_kb": ru_maxrss_before_kb,
                "ru_maxrss_after_kb": ru_maxrss_after_kb,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
