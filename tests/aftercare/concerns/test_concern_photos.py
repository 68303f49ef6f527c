"""The photo on a patient's "something not right?" report (aftercare.concerns.services.clean_photo,
the photo field of aftercare.concerns.forms.ConcernReportForm, the patient's report page).

A photo is refused from its header when it declares more pixels than
CONCERN_PHOTO_MAX_MEGAPIXELS, before anything is decoded, and refused with a message when
it cannot be read. What is stored is a JPEG made from the pixels alone: no EXIF, ICC
profile, XMP, comment or PNG text survives.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from aftercare.concerns.forms import ConcernReportForm
from aftercare.concerns.services import PhotoRefused, clean_photo, concern_report_create
from aftercare.links import link_current, token_for
from aftercare.models import AftercarePlan, ConcernReport
from aftercare.plans.services import plan_create
from aftercare.portal.session import PATIENT_COOKIE_NAME
from aftercare.portal.views import form_token_for_session
from tests.celery_processes import subprocess_database_url
from tests.factories import ClinicFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
MB = 1024 * 1024
SECRET_COMMENT = b"secret-comment-robin-quill"
SECRET_CAMERA = "SecretCam X1"
SECRET_XMP = b"<x:xmpmeta><dc:creator>secret-xmp-robin</dc:creator></x:xmpmeta>"
SECRET_PNG_TEXTS = {"Author": "secret-author", "comment": "secret-png-comment"}
SECRET_PNG_ITXT = "secret-itxt-description"
SECRET_PNG_ZTXT = "secret-ztxt-software"
# The segments of a JPEG that carry pixels or the way to decode them, and JFIF's APP0.
PIXEL_SEGMENTS = {
    b"\xff\xe0",  # APP0 (JFIF: version and pixel density)
    b"\xff\xdb",  # DQT quantisation tables
    b"\xff\xc0",  # SOF0 frame header: size and components
    b"\xff\xc4",  # DHT Huffman tables
    b"\xff\xdd",  # DRI restart interval
    b"\xff\xda",  # SOS start of scan: the compressed pixels follow
}


@pytest.fixture
def photo_storage(tmp_path, monkeypatch):
    field = ConcernReport._meta.get_field("photo")
    monkeypatch.setattr(field, "storage", FileSystemStorage(location=tmp_path))
    return tmp_path


def _plan() -> AftercarePlan:
    # The patient pages read the real clock: a treatment yesterday has a live link today.
    # Its guidance does not matter here, so the plan may be empty after a transactional
    # test flushed the default guidance.
    treatment = TreatmentFactory(
        patient__clinic=ClinicFactory(), performed_at=timezone.now() - timedelta(days=1)
    )
    return plan_create(treatment=treatment, now=timezone.now())


def _open_url(plan: AftercarePlan) -> str:
    token = token_for(link_current(plan=plan, now=timezone.now()))
    return reverse("patient:open", args=[plan.treatment.clinic.slug, token])


def _report_url(plan: AftercarePlan) -> str:
    return reverse("patient:report", args=[plan.treatment.clinic.slug])


def _send_report(plan: AftercarePlan, upload: SimpleUploadedFile):
    """The patient opens their link, then sends a report with `upload` on the report page."""
    client = Client()
    assert client.get(_open_url(plan)).status_code == 302
    token = form_token_for_session(client.cookies[PATIENT_COOKIE_NAME].value)
    data = {"details": "See the photo", "form_token": token, "photo": upload}
    return client.post(_report_url(plan), data)


def _bilevel_png(width: int, height: int, *, idat: bytes | None = None) -> bytes:
    """A PNG of width x height black pixels at one bit each, written by hand so that the
    pixels never exist in memory: 10000x10000 of them compress to about 12 KB.
    `idat` replaces the compressed pixels (with a correct checksum, so the file looks whole).
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    if idat is None:
        compressor = zlib.compressobj(9)
        row = bytes(1 + (width + 7) // 8)  # filter type 0, then the row's bits, all 0
        idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def _rgb_png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "pink").save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_with_metadata() -> bytes:
    """A phone photo as it might arrive: a comment, EXIF with the camera and a GPS
    position, an sRGB ICC profile and XMP."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = SECRET_CAMERA
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "pink").save(
        buffer,
        format="JPEG",
        comment=SECRET_COMMENT,
        exif=exif,
        icc_profile=icc,
        xmp=SECRET_XMP,
    )
    return buffer.getvalue()


def _png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in SECRET_PNG_TEXTS.items():
        info.add_text(key, value)
    info.add_itxt("Description", SECRET_PNG_ITXT, lang="en", tkey="Description")
    info.add_text("Software", SECRET_PNG_ZTXT, zip=True)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "pink").save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _upload(data: bytes, name: str = "cheek.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def _form(upload: SimpleUploadedFile) -> ConcernReportForm:
    form = ConcernReportForm(
        {"details": "See the photo"}, {"photo": upload}, hours_since_treatment=24
    )
    form.is_valid()
    return form


def _header_segments(jpeg: bytes) -> list[bytes]:
    """The markers of a JPEG's segments, from its start to the start of the scan."""
    assert jpeg[:2] == b"\xff\xd8"
    markers, position = [], 2
    while True:
        marker = jpeg[position : position + 2]
        markers.append(marker)
        if marker == b"\xff\xda":
            return markers
        (length,) = struct.unpack(">H", jpeg[position + 2 : position + 4])
        position += 2 + length


def _assert_pixels_only(jpeg: bytes, secrets: list[bytes]) -> None:
    assert set(_header_segments(jpeg)) <= PIXEL_SEGMENTS
    assert jpeg[6:11] == b"JFIF\x00"  # the one APP0 is JFIF's
    # In the compressed pixels a 0xFF byte is always followed by 0x00 or a restart marker,
    # so these markers cannot appear anywhere in the file by chance.
    for marker in (b"\xff\xfe", b"\xff\xe1", b"\xff\xe2", b"\xff\xed", b"\xff\xee"):
        assert marker not in jpeg  # COM, APP1 (EXIF, XMP), APP2 (ICC), APP13, APP14
    assert [secret for secret in secrets if secret in jpeg] == []
    with Image.open(io.BytesIO(jpeg)) as stored:
        assert stored.format == "JPEG"
        assert {"comment", "exif", "icc_profile", "xmp"} & set(stored.info) == set()
        assert dict(stored.getexif()) == {}


# Too many pixels, refused from the header


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="measures memory through Linux's /proc"
)
def test_a_png_declaring_10000_by_10000_pixels_is_refused_without_decoding_it(tmp_path):
    # Decoded, these 100 million pixels took a worker to about 700 MB. The upload goes
    # through the real report page in a fresh process (tests/aftercare/concerns/upload_memory.py
    # says why its memory, not tracemalloc, is measured), against this test database.
    plan = _plan()
    photo = tmp_path / "huge.png"
    photo.write_bytes(_bilevel_png(10_000, 10_000))
    assert photo.stat().st_size < 20_000
    env = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_BROKER_URL": "memory://",
        "CACHE_URL": "",
        "ENVIRONMENT": "test",
        "DEBUG": "false",
        "CONCERN_PHOTO_MAX_MEGAPIXELS": "40",
    }
    command = [sys.executable, "-m", "tests.aftercare.concerns.upload_memory"]
    command += [_open_url(plan), _report_url(plan), str(photo)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.splitlines()[-1])

    growth_mb = (outcome["peak_kb"] - outcome["rss_before_kb"]) / 1024
    assert growth_mb < 100, f"memory peaked {growth_mb:.0f} MB above where it stood"
    assert (outcome["status"], outcome["photo_errors"]) == (200, ["too_many_pixels"])
    assert "This photo is too large to process (100 megapixels)." in outcome["html"]
    assert outcome["reports_stored"] == 0


def test_the_form_refuses_a_photo_over_the_megapixel_limit_with_a_message(settings):
    settings.CONCERN_PHOTO_MAX_MEGAPIXELS = 1
    form = _form(_upload(_rgb_png((1250, 1000)), name="cheek.png"))
    assert form.has_error("photo", code="too_many_pixels")
    assert form.errors["photo"] == [
        "This photo is too large to process (1.2 megapixels). "
        "Please send a smaller photo or a screenshot."
    ]


def test_the_form_takes_a_photo_of_exactly_the_megapixel_limit(settings):
    settings.CONCERN_PHOTO_MAX_MEGAPIXELS = 1
    form = _form(_upload(_rgb_png((1000, 1000)), name="cheek.png"))
    assert form.is_valid(), form.errors


def test_the_form_refuses_a_png_so_large_that_pillow_will_not_open_it():
    # Over twice Image.MAX_IMAGE_PIXELS Pillow raises DecompressionBombError on opening,
    # before Django's ImageField (or our check) sees the size.
    form = _form(_upload(_bilevel_png(20_000, 10_000), name="cheek.png"))
    assert form.has_error("photo", code="too_many_pixels")
    assert "too large to process" in str(form.errors["photo"])


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_clean_photo_refuses_too_many_pixels_without_the_form(settings):
    settings.CONCERN_PHOTO_MAX_MEGAPIXELS = 40
    with pytest.raises(PhotoRefused) as refused:
        clean_photo(_upload(_bilevel_png(10_000, 10_000), name="cheek.png"))
    assert (refused.value.code, refused.value.params) == ("too_many_pixels", {"megapixels": "100"})


def test_the_report_page_shows_the_megapixel_error_and_stores_nothing(settings):
    settings.CONCERN_PHOTO_MAX_MEGAPIXELS = 1
    response = _send_report(_plan(), _upload(_rgb_png((2000, 1000)), name="cheek.png"))
    assert response.status_code == 200
    assert "This photo is too large to process (2 megapixels)." in response.content.decode()
    assert ConcernReport.objects.count() == 0


# Broken images, refused with a message


def _truncated_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()[: buffer.tell() * 2 // 3]


def test_the_form_refuses_a_truncated_jpeg_that_django_lets_through():
    form = _form(_upload(_truncated_jpeg()))
    assert form.has_error("photo", code="unreadable")
    assert form.errors["photo"] == [
        "We could not read this photo. Please send a JPEG or PNG photo, or a screenshot."
    ]


def test_the_form_refuses_a_png_whose_pixels_are_not_compressed_data():
    form = _form(_upload(_bilevel_png(100, 100, idat=b"not zlib data"), name="cheek.png"))
    assert form.has_error("photo", code="unreadable")


def test_the_form_refuses_a_file_that_is_no_image_with_a_plain_message():
    form = _form(_upload(b"%PDF-1.4 not a photo", name="cheek.jpg"))
    assert form.has_error("photo", code="invalid_image")
    assert "We could not read this photo." in str(form.errors["photo"])


def test_the_report_page_answers_a_broken_photo_with_its_form_not_an_error():
    response = _send_report(_plan(), _upload(_truncated_jpeg()))
    assert response.status_code == 200
    assert "We could not read this photo." in response.content.decode()
    assert ConcernReport.objects.count() == 0


# What is stored: the pixels alone


def test_a_stored_jpeg_keeps_no_comment_exif_icc_profile_or_xmp(clinic, photo_storage):
    original = _jpeg_with_metadata()
    with Image.open(io.BytesIO(original)) as uploaded:  # the test photo does carry them all
        assert {"comment", "exif", "icc_profile", "xmp"} <= set(uploaded.info)
    stored = clean_photo(_upload(original)).read()
    _assert_pixels_only(
        stored, [SECRET_COMMENT, SECRET_CAMERA.encode(), b"secret-xmp", b"ICC_PROFILE"]
    )


def test_a_stored_jpeg_keeps_no_png_text_chunks():
    original = _png_with_text()
    with Image.open(io.BytesIO(original)) as uploaded:
        assert {"Author", "comment", "Description", "Software"} <= set(uploaded.info)
    stored = clean_photo(_upload(original, name="cheek.png")).read()
    secrets = [SECRET_PNG_ITXT, SECRET_PNG_ZTXT, *SECRET_PNG_TEXTS.values()]
    _assert_pixels_only(stored, [secret.encode() for secret in secrets])


def test_a_photo_sent_through_the_report_page_is_stored_with_its_pixels_only(photo_storage):
    response = _send_report(_plan(), _upload(_jpeg_with_metadata()))
    assert response.status_code == 302
    report = ConcernReport.objects.get()
    stored = (photo_storage / report.photo.name).read_bytes()
    _assert_pixels_only(stored, [SECRET_COMMENT, SECRET_CAMERA.encode(), b"secret-xmp"])
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (64, 48)
        assert image.getpixel((32, 24)) == pytest.approx((255, 192, 203), abs=3)


def test_the_photo_the_form_cleaned_is_stored_as_it_is(clinic, photo_storage):
    # The form re-encodes the photo once; the service stores that, not a second re-encoding.
    form = _form(_upload(_jpeg_with_metadata()))
    cleaned = form.cleaned_data["photo"]
    plan = _plan()
    report = concern_report_create(
        link=link_current(plan=plan, now=timezone.now()),
        symptoms=[],
        details="See the photo",
        photo=cleaned,
        now=timezone.now(),
    )
    assert (photo_storage / report.photo.name).read_bytes() == cleaned.file.getvalue()
