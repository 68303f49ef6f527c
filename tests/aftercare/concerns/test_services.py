"""Patients' "something not right?" reports: aftercare.concerns.services and .forms, and
the staff views concern_list, concern_detail and concern_photo (aftercare.plans.views)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from aftercare import tasks
from aftercare.concerns.forms import ConcernReportForm, HandleConcernForm
from aftercare.concerns.services import (
    PHOTO_MAX_SIDE,
    ExpectedSymptom,
    clean_photo,
    concern_alert_send,
    concern_expected_symptoms,
    concern_mark_handled,
    concern_report_create,
    hours_since_treatment,
)
from aftercare.links import link_current
from aftercare.models import (
    SYMPTOM_RULES,
    AftercarePlan,
    ConcernReport,
    PatientLink,
    Symptom,
)
from aftercare.plans.services import plan_create
from clinic.models import StaffRole
from tests.factories import (
    ClinicFactory,
    PatientFactory,
    StaffMembershipFactory,
    TreatmentFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 5, 15, 10, 0, tzinfo=LONDON)
EXIF_MAKE = 0x010F
EXIF_ORIENTATION = 0x0112


@pytest.fixture
def photo_storage(tmp_path, monkeypatch):
    field = ConcernReport._meta.get_field("photo")
    monkeypatch.setattr(field, "storage", FileSystemStorage(location=tmp_path))
    return tmp_path


def _plan(clinic, *, hours_ago: float = 72) -> AftercarePlan:
    treatment = TreatmentFactory(
        patient=PatientFactory(clinic=clinic, first_name="Robin", last_name="Quill"),
        performed_at=NOW - timedelta(hours=hours_ago),
    )
    return plan_create(treatment=treatment, now=NOW)


def _link(clinic) -> PatientLink:
    return link_current(plan=_plan(clinic), now=NOW)


def _create(link: PatientLink, *, symptoms: list[str]) -> ConcernReport:
    return concern_report_create(link=link, symptoms=symptoms, details="", photo=None, now=NOW)


def _report(
    clinic,
    *,
    symptoms=("peeling",),
    details: str = "",
    photo=None,
    created_at: datetime = NOW,
    hours_ago: float = 72,
) -> ConcernReport:
    link = link_current(plan=_plan(clinic, hours_ago=hours_ago), now=NOW)
    return concern_report_create(
        link=link, symptoms=list(symptoms), details=details, photo=photo, now=created_at
    )


def _jpeg(size=(40, 30), exif: dict[int, object] | None = None) -> bytes:
    image = Image.new("RGB", size, "pink")
    buffer = io.BytesIO()
    stored = Image.Exif()
    for tag, value in (exif or {}).items():
        stored[tag] = value
    image.save(buffer, format="JPEG", exif=stored.tobytes())
    return buffer.getvalue()


def _upload(data: bytes, name: str = "cheek.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


# Storing a report


def test_a_red_flag_symptom_makes_the_report_a_red_flag(clinic):
    assert _report(clinic, symptoms=["pus", "peeling"]).is_red_flag is True


def test_symptoms_that_are_no_warning_sign_leave_the_report_routine(clinic):
    routine = [s for s in Symptom.values if SYMPTOM_RULES[s].warning_from_hours is None]
    assert _report(clinic, symptoms=routine).is_red_flag is False


@pytest.mark.parametrize(
    "symptom", sorted(s for s, rule in SYMPTOM_RULES.items() if rule.warning_from_hours == 0)
)
def test_each_sign_of_infection_allergy_or_cold_sores_alone_is_a_red_flag_at_hour_0(
    clinic, symptom
):
    assert _report(clinic, symptoms=[symptom], hours_ago=0).is_red_flag is True


def test_heat_and_redness_at_hour_2_are_no_red_flag(clinic):
    report = _report(clinic, symptoms=["heat", "redness"], hours_ago=2)
    assert report.is_red_flag is False
    assert concern_expected_symptoms(report=report) == [
        ExpectedSymptom(label="Skin that feels hot and very inflamed", warning_after_days=3),
        ExpectedSymptom(label="Redness or swelling", warning_after_days=3),
    ]


def test_heat_and_redness_at_hour_80_are_a_red_flag(clinic):
    report = _report(clinic, symptoms=["heat", "redness_past_72h"], hours_ago=80)
    assert report.is_red_flag is True
    assert concern_expected_symptoms(report=report) == []


def test_a_bruise_is_a_red_flag_once_it_should_have_faded(clinic):
    assert _report(clinic, symptoms=["bruise"], hours_ago=48).is_red_flag is False
    assert _report(clinic, symptoms=["unusual_bruising"], hours_ago=130).is_red_flag is True


def test_trouble_breathing_is_an_emergency_and_a_red_flag_at_hour_0(clinic):
    report = _report(clinic, symptoms=["breathing"], hours_ago=0)
    assert (report.is_red_flag, report.is_emergency) == (True, True)


def test_the_hours_count_from_the_treatment_in_the_plan(clinic):
    plan = _plan(clinic, hours_ago=5.5)
    assert hours_since_treatment(plan=plan, moment=NOW) == 5.5


def test_a_report_belongs_to_the_links_plan_patient_and_clinic(clinic):
    report = _report(clinic, details="Itchy")
    plan = report.plan
    assert (report.patient, report.clinic) == (plan.treatment.patient, clinic)
    assert (report.details, report.created_at, report.handled_at) == ("Itchy", NOW, None)


def test_the_clinic_is_alerted_once_the_report_is_committed(
    clinic, django_capture_on_commit_callbacks
):
    link = _link(clinic)
    with mock.patch.object(tasks.send_concern_alert, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            report = _create(link, symptoms=["pus"])
        assert delay.call_args_list == [mock.call(report.pk)]


def test_no_alert_is_queued_before_the_report_is_committed(
    clinic, django_capture_on_commit_callbacks
):
    link = _link(clinic)
    with mock.patch.object(tasks.send_concern_alert, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            _create(link, symptoms=["pus"])
        assert (len(callbacks), delay.call_count) == (1, 0)


def test_the_alert_is_sent_inline_when_the_broker_is_down(
    clinic, django_capture_on_commit_callbacks
):
    link = _link(clinic)
    broker_down = mock.patch.object(tasks.send_concern_alert, "delay", side_effect=OSError("down"))
    with broker_down, django_capture_on_commit_callbacks(execute=True):
        _create(link, symptoms=["peeling"])
    assert [message.subject for message in mail.outbox] == ["New patient report"]


# The photo


def test_a_photo_is_stored_as_a_jpeg_without_exif(clinic, photo_storage):
    original = _jpeg(exif={EXIF_MAKE: "PhoneCam 12"})
    assert Image.open(io.BytesIO(original)).getexif().get(EXIF_MAKE) == "PhoneCam 12"
    report = _report(clinic, photo=_upload(original))
    with Image.open(photo_storage / report.photo.name) as stored:
        assert stored.format == "JPEG"
        assert dict(stored.getexif()) == {}
    assert b"PhoneCam" not in (photo_storage / report.photo.name).read_bytes()


def test_a_photo_gets_a_random_name_not_the_uploaded_one(clinic, photo_storage):
    report = _report(clinic, photo=_upload(_jpeg(), name="robin-quill-face.jpg"))
    assert "robin" not in report.photo.name
    assert report.photo.name.startswith("concerns/2026/")


def test_a_photo_is_turned_upright_before_its_exif_is_dropped():
    sideways = _jpeg(size=(300, 100), exif={EXIF_ORIENTATION: 6})
    with Image.open(clean_photo(_upload(sideways))) as upright:
        assert upright.size == (100, 300)


def test_a_large_photo_is_shrunk_to_the_maximum_side():
    with Image.open(clean_photo(_upload(_jpeg(size=(3000, 1500))))) as shrunk:
        assert max(shrunk.size) == PHOTO_MAX_SIDE
        assert shrunk.size == (2000, 1000)


# The form


def _form(data, files=None, *, hours: float = 24) -> ConcernReportForm:
    return ConcernReportForm(data, files, hours_since_treatment=hours)


def test_the_form_refuses_a_report_that_says_nothing():
    form = _form({"details": "   "})
    assert not form.is_valid()
    assert form.has_error("__all__", code="empty")


def test_the_form_takes_words_alone():
    assert _form({"details": "Looks odd"}).is_valid()


def test_the_form_takes_symptoms_alone():
    assert _form({"symptoms": ["heat"]}).is_valid()


def test_the_form_offers_the_wording_that_fits_the_hour():
    early = [value for value, _ in _form(None, hours=2).fields["symptoms"].choices]
    late = [value for value, _ in _form(None, hours=80).fields["symptoms"].choices]
    assert "redness" in early and "redness_past_72h" not in early
    assert "redness_past_72h" in late and "redness" not in late


def test_the_form_takes_a_symptom_it_offered_a_moment_ago():
    # Shown at hour 71 with "Redness or swelling", sent at hour 72.
    assert _form({"symptoms": ["redness"]}, hours=72).is_valid()


def test_the_form_refuses_an_unknown_symptom():
    form = _form({"symptoms": ["sneezing"]})
    assert form.has_error("symptoms", code="invalid_choice")


def test_the_form_refuses_a_file_that_is_no_image():
    form = _form(
        {"details": "See photo"}, {"photo": _upload(b"%PDF-1.4 not a photo", name="x.jpg")}
    )
    assert form.has_error("photo", code="invalid_image")


def test_the_form_refuses_a_photo_over_the_size_limit(settings):
    settings.CONCERN_PHOTO_MAX_BYTES = 1024 * 1024
    big = _jpeg()
    big_upload = _upload(big)
    big_upload.size = settings.CONCERN_PHOTO_MAX_BYTES + 1
    form = _form({"details": "See photo"}, {"photo": big_upload})
    assert form.has_error("photo", code="too_large")
    assert "under 1 MB" in str(form.errors["photo"])


def test_the_form_refuses_details_over_2000_characters():
    form = _form({"details": "x" * 2001})
    assert form.has_error("details", code="max_length")


def test_the_handling_note_is_optional():
    assert HandleConcernForm({"note": ""}).is_valid()


# The alert email


def test_the_alert_goes_to_the_clinic_and_its_active_staff_only(clinic, settings):
    active = StaffMembershipFactory(clinic=clinic, role=StaffRole.FRONT_DESK).user
    gone = StaffMembershipFactory(clinic=clinic).user
    gone.is_active = False
    gone.save()
    StaffMembershipFactory(clinic=ClinicFactory())  # another clinic's staff
    concern_alert_send(_report(clinic).pk)
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([clinic.email, active.email])


def test_the_alert_subject_of_a_routine_report_carries_no_health_detail(clinic):
    concern_alert_send(_report(clinic, symptoms=["breakouts"], details="Spots on chin").pk)
    assert mail.outbox[0].subject == "New patient report"


def test_the_alert_subject_of_a_red_flag_report_says_urgent_and_nothing_more(clinic):
    concern_alert_send(_report(clinic, symptoms=["pus"], details="Yellow crust").pk)
    assert mail.outbox[0].subject == "New patient report (urgent)"


def test_the_alert_carries_no_name_symptom_or_words_of_the_patient(clinic):
    report = _report(clinic, symptoms=["pus", "heat"], details="Yellow crust on cheek")
    concern_alert_send(report.pk)
    message = mail.outbox[0]
    text = message.subject + message.body
    leaked = [
        value
        for value in ["Robin", "Quill", "Yellow crust", *report.symptom_labels(), "pus", "heat"]
        if value.lower() in text.lower()
    ]
    assert leaked == []


def test_the_alert_links_to_the_staff_page_of_the_report(clinic, settings):
    report = _report(clinic)
    concern_alert_send(report.pk)
    url = settings.SITE_URL + reverse("aftercare:concern_detail", args=[report.pk])
    assert url in mail.outbox[0].body


# Marking a report handled


def test_marking_handled_records_who_when_and_what(clinic, practitioner):
    report = _report(clinic)
    assert concern_mark_handled(report=report, user=practitioner, note="Called her", now=NOW)
    report.refresh_from_db()
    assert (report.handled_at, report.handled_by, report.handling_note) == (
        NOW,
        practitioner,
        "Called her",
    )


def test_marking_handled_twice_keeps_the_first_and_says_so(clinic, practitioner, front_desk):
    report = _report(clinic)
    concern_mark_handled(report=report, user=practitioner, note="First", now=NOW)
    later = NOW + timedelta(minutes=5)
    assert concern_mark_handled(report=report, user=front_desk, note="Second", now=later) is False
    report.refresh_from_db()
    assert (report.handled_by, report.handling_note, report.handled_at) == (
        practitioner,
        "First",
        NOW,
    )


# Staff: the list of reports


def test_the_report_list_needs_a_login(client):
    response = client.get(reverse("aftercare:concern_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_report_list_shows_red_flags_first_then_the_newest(practitioner_client, clinic):
    old_routine = _report(clinic, symptoms=["peeling"], created_at=NOW - timedelta(hours=3))
    new_routine = _report(clinic, symptoms=["peeling"], created_at=NOW)
    old_red = _report(clinic, symptoms=["pus"], created_at=NOW - timedelta(hours=5))
    new_red = _report(clinic, symptoms=["fever"], created_at=NOW - timedelta(hours=1))
    response = practitioner_client.get(reverse("aftercare:concern_list"))
    assert list(response.context["open_reports"]) == [new_red, old_red, new_routine, old_routine]


def test_a_long_list_of_open_reports_shows_the_most_urgent_and_says_how_many(
    practitioner_client, clinic, monkeypatch
):
    monkeypatch.setattr("aftercare.plans.views.OPEN_REPORTS_SHOWN", 2)
    _report(clinic, symptoms=["peeling"], created_at=NOW - timedelta(hours=2))
    newest = _report(clinic, symptoms=["peeling"], created_at=NOW)
    red = _report(clinic, symptoms=["pus"], created_at=NOW - timedelta(hours=5))
    response = practitioner_client.get(reverse("aftercare:concern_list"))
    assert list(response.context["open_reports"]) == [red, newest]
    assert "Open (3)" in response.content.decode()
    assert "Showing the 2 to handle first" in response.content.decode()


def test_the_report_list_marks_red_flags(practitioner_client, clinic):
    _report(clinic, symptoms=["pus"])
    html = practitioner_client.get(reverse("aftercare:concern_list")).content.decode()
    assert "Red flag" in html


def test_the_report_list_leaves_out_another_clinics_reports(practitioner_client, clinic):
    mine = _report(clinic)
    _report(ClinicFactory())
    response = practitioner_client.get(reverse("aftercare:concern_list"))
    assert list(response.context["open_reports"]) == [mine]


def test_a_handled_report_moves_from_open_to_recently_handled(
    practitioner_client, clinic, practitioner
):
    report = _report(clinic)
    concern_mark_handled(report=report, user=practitioner, note="", now=NOW)
    response = practitioner_client.get(reverse("aftercare:concern_list"))
    assert list(response.context["open_reports"]) == []
    assert list(response.context["handled_reports"]) == [report]


# Staff: one report


def test_the_report_page_shows_the_symptoms_and_the_patients_words(practitioner_client, clinic):
    report = _report(clinic, symptoms=["pus"], details="Yellow crust on cheek")
    html = practitioner_client.get(
        reverse("aftercare:concern_detail", args=[report.pk])
    ).content.decode()
    assert Symptom.PUS.label in html
    assert "Yellow crust on cheek" in html


def test_marking_handled_on_the_report_page_stores_it_and_goes_back_to_the_list(
    practitioner_client, clinic, practitioner
):
    report = _report(clinic)
    url = reverse("aftercare:concern_detail", args=[report.pk])
    response = practitioner_client.post(url, {"note": "Rang back, all fine"})
    assert response.status_code == 302
    assert response["Location"] == reverse("aftercare:concern_list")
    report.refresh_from_db()
    assert (report.handled_by, report.handling_note) == (practitioner, "Rang back, all fine")
    assert report.handled_at is not None


def test_marking_handled_a_second_time_says_someone_already_did(
    practitioner_client, clinic, front_desk
):
    report = _report(clinic)
    concern_mark_handled(report=report, user=front_desk, note="Done", now=timezone.now())
    url = reverse("aftercare:concern_detail", args=[report.pk])
    response = practitioner_client.post(url, {"note": "Me too"}, follow=True)
    assert "Someone had already marked this report as handled." in response.content.decode()
    report.refresh_from_db()
    assert (report.handled_by, report.handling_note) == (front_desk, "Done")


def test_another_clinics_report_page_is_404(practitioner_client):
    report = _report(ClinicFactory())
    response = practitioner_client.get(reverse("aftercare:concern_detail", args=[report.pk]))
    assert response.status_code == 404


def test_another_clinics_report_cannot_be_marked_handled(practitioner_client):
    report = _report(ClinicFactory())
    url = reverse("aftercare:concern_detail", args=[report.pk])
    assert practitioner_client.post(url, {"note": "x"}).status_code == 404
    report.refresh_from_db()
    assert report.handled_at is None


# Staff: the photo


def test_the_photo_is_served_to_staff_as_a_jpeg_that_is_not_cached(
    practitioner_client, clinic, photo_storage
):
    report = _report(clinic, photo=_upload(_jpeg()))
    response = practitioner_client.get(reverse("aftercare:concern_photo", args=[report.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8")


def test_a_report_without_a_photo_has_no_photo_page(practitioner_client, clinic):
    report = _report(clinic)
    response = practitioner_client.get(reverse("aftercare:concern_photo", args=[report.pk]))
    assert response.status_code == 404


def test_another_clinics_photo_is_404(practitioner_client, photo_storage):
    report = _report(ClinicFactory(), photo=_upload(_jpeg()))
    response = practitioner_client.get(reverse("aftercare:concern_photo", args=[report.pk]))
    assert response.status_code == 404


def test_the_photo_needs_a_login(client, clinic, photo_storage):
    report = _report(clinic, photo=_upload(_jpeg()))
    response = client.get(reverse("aftercare:concern_photo", args=[report.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
