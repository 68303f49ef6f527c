"""Patient search by name, email or phone fragment (PatientQuerySet.search) and its indexes."""

import pytest
from django.db import connection

from patients.models import Patient
from tests.factories import ClinicFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ahma", "Rahman"), ("RAHMAN", "Rahman"), ("mina.r@", "Rahman"), ("900 55", "Rahman")],
)
def test_it_finds_a_patient_by_a_fragment_of_name_email_or_phone(clinic, text, expected):
    PatientFactory(
        clinic=clinic,
        first_name="Mina",
        last_name="Rahman",
        email="mina.r@example.com",
        phone="07700 900 555",
    )
    PatientFactory(clinic=clinic, first_name="Olu", last_name="Bello", phone="07700 111222")
    assert [p.last_name for p in Patient.objects.search(text)] == [expected]


def test_every_word_must_match(clinic):
    PatientFactory(clinic=clinic, first_name="Mina", last_name="Rahman")
    PatientFactory(clinic=clinic, first_name="Mina", last_name="Bello")
    assert [p.last_name for p in Patient.objects.search("mina bel")] == ["Bello"]


@pytest.mark.postgres
def test_postgresql_answers_a_fragment_search_on_100_000_patients_from_the_trigram_indexes():
    clinic = ClinicFactory()
    with connection.cursor() as cursor:
        # Made in SQL: 100,000 rows through the ORM would take minutes.
        cursor.execute(
            """
            INSERT INTO patients_patient (clinic_id, first_name, last_name, email, phone,
                skin_type, email_consent, text_consent, breakout_prone, slow_healing,
                sensitive_skin, history_notes, created_at, updated_at)
            SELECT %s, 'First' || n, 'Surname' || lpad(n::text, 6, '0'),
                'person' || n || '@example.com', '07700 ' || lpad(n::text, 6, '0'),
                3, false, false, false, false, false, '', now(), now()
            FROM generate_series(1, 100000) AS n
            """,
            [clinic.pk],
        )
        # A bulk insert leaves new rows in each GIN index's pending list until (auto)vacuum
        # merges them, and the planner then prices the indexes too high: merge them now.
        for column in ("first_name", "last_name", "email", "phone"):
            cursor.execute(f"SELECT gin_clean_pending_list('patient_{column}_trgm'::regclass)")
        cursor.execute("ANALYZE patients_patient")
    query = Patient.objects.filter(clinic=clinic).search("012345")
    plan = query.explain()
    print(plan)  # shown with pytest -s
    for column in ("first_name", "last_name", "email", "phone"):
        assert f"patient_{column}_trgm" in plan
    assert "Seq Scan" not in plan
    assert [p.last_name for p in query] == ["Surname012345"]
