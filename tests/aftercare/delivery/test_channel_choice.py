"""The patient chooses email, text or both (aftercare.delivery.channel_choice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftercare.delivery.channel_choice import (
    EMAIL_UNDELIVERABLE,
    NO_CHANNEL,
    NO_EMAIL,
    NO_PHONE,
    PHONE_UNDELIVERABLE,
    REPLIED_STOP,
    TEXTS_OFF,
    ChannelUnavailable,
    channels_choosable,
    reminder_channels_choose,
)
from aftercare.delivery.text_consent import TEXTS_STOPPED, texts_stop_for_patient
from aftercare.models import AftercarePlan, Reminder, ReminderStatus
from aftercare.plans.services import plan_create
from patients.models import Channel, ConsentChange, ConsentSource, Patient, TextProblem
from tests.factories import PatientFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # noon in London (GMT)
LATER = NOW + timedelta(hours=2)
EMAIL, TEXT = (Channel.EMAIL,), (Channel.TEXT,)
BOTH = (Channel.EMAIL, Channel.TEXT)


def _patient(*, emails: bool = True, texts: bool = False, **fields) -> Patient:
    return PatientFactory(
        email_consent=emails,
        email_consent_at=NOW if emails else None,
        text_consent=texts,
        text_consent_at=NOW if texts else None,
        **fields,
    )


def _plan(patient: Patient) -> AftercarePlan:
    treatment = TreatmentFactory(patient=patient, performed_at=NOW - timedelta(hours=1))
    return plan_create(treatment=treatment, now=NOW)


def _waiting(patient: Patient, channel: Channel) -> set[str]:
    return set(
        Reminder.objects.filter(
            patient=patient, channel=channel, status=ReminderStatus.PENDING
        ).values_list("kind", flat=True)
    )


def _cancelled(patient: Patient, channel: Channel) -> dict[str, str]:
    return dict(
        Reminder.objects.filter(
            patient=patient, channel=channel, status=ReminderStatus.CANCELLED
        ).values_list("kind", "cancelled_reason")
    )


def _changes(patient: Patient) -> list[tuple[str, bool, str]]:
    return list(
        ConsentChange.objects.filter(patient=patient)
        .order_by("id")
        .values_list("channel", "given", "source")
    )


def _still_to_come(plan: AftercarePlan) -> set[str]:
    return {
        moment["key"]
        for moment in plan.content["reminders"]
        if datetime.fromisoformat(moment["send_at"]) > LATER
    }


# Switching


def test_email_to_text_moves_the_consent_to_texts():
    patient = _patient()
    reminder_channels_choose(patient=patient, channels=TEXT, now=LATER)
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.email_consent, stored.email_consent_at) == (False, None)
    assert (stored.text_consent, stored.text_consent_at) == (True, LATER)


def test_email_to_text_records_one_change_per_channel_as_the_patients_choice():
    patient = _patient()
    reminder_channels_choose(patient=patient, channels=TEXT, now=LATER)
    assert _changes(patient) == [
        (Channel.EMAIL, False, ConsentSource.PATIENT_CHOICE),
        (Channel.TEXT, True, ConsentSource.PATIENT_CHOICE),
    ]


def test_email_to_text_cancels_the_unsent_emails_and_queues_the_texts_still_to_come():
    patient = _patient()
    plan = _plan(patient)
    emails_before = _waiting(patient, Channel.EMAIL)
    choice = reminder_channels_choose(patient=patient, channels=TEXT, now=LATER)
    assert _waiting(patient, Channel.EMAIL) == set()
    assert _cancelled(patient, Channel.EMAIL) == dict.fromkeys(emails_before, "unsubscribed")
    assert _waiting(patient, Channel.TEXT) == _still_to_come(plan)
    assert (choice.cancelled, choice.put_back) == (len(emails_before), len(_still_to_come(plan)))


def test_text_to_email_puts_the_emails_back_and_cancels_the_texts():
    patient = _patient(texts=True)
    plan = _plan(patient)
    reminder_channels_choose(patient=patient, channels=TEXT, now=NOW)
    reminder_channels_choose(patient=patient, channels=EMAIL, now=LATER)
    assert _waiting(patient, Channel.EMAIL) == _still_to_come(plan)
    assert _waiting(patient, Channel.TEXT) == set()
    assert set(_cancelled(patient, Channel.TEXT).values()) == {TEXTS_STOPPED}


def test_putting_emails_back_keeps_their_rows_and_message_ids():
    patient = _patient()
    _plan(patient)
    ids = dict(
        Reminder.objects.filter(patient=patient, channel=Channel.EMAIL).values_list(
            "kind", "message_id"
        )
    )
    reminder_channels_choose(patient=patient, channels=TEXT, now=NOW)
    reminder_channels_choose(patient=patient, channels=EMAIL, now=LATER)
    for row in Reminder.objects.filter(patient=patient, channel=Channel.EMAIL):
        assert row.message_id == ids[row.kind]


def test_moments_already_past_are_not_put_back():
    patient = _patient()
    plan = _plan(patient)
    reminder_channels_choose(patient=patient, channels=TEXT, now=NOW)
    reminder_channels_choose(patient=patient, channels=EMAIL, now=LATER)
    assert "day-0" in _cancelled(patient, Channel.EMAIL)
    assert "day-0" not in _waiting(patient, Channel.EMAIL) | _still_to_come(plan)


def test_email_to_both_turns_texts_on_and_leaves_the_emails_alone():
    patient = _patient()
    plan = _plan(patient)
    emails_before = _waiting(patient, Channel.EMAIL)
    choice = reminder_channels_choose(patient=patient, channels=BOTH, now=LATER)
    assert choice.turned_on == TEXT
    assert choice.turned_off == ()
    assert _waiting(patient, Channel.EMAIL) == emails_before
    assert _waiting(patient, Channel.TEXT) == _still_to_come(plan)
    assert _changes(patient) == [(Channel.TEXT, True, ConsentSource.PATIENT_CHOICE)]


def test_both_to_email_cancels_only_the_texts():
    patient = _patient(texts=True)
    _plan(patient)
    emails_before = _waiting(patient, Channel.EMAIL)
    assert _waiting(patient, Channel.TEXT)
    choice = reminder_channels_choose(patient=patient, channels=EMAIL, now=LATER)
    assert choice.turned_off == TEXT
    assert _waiting(patient, Channel.EMAIL) == emails_before
    assert _waiting(patient, Channel.TEXT) == set()
    assert _changes(patient) == [(Channel.TEXT, False, ConsentSource.PATIENT_CHOICE)]
    assert not Patient.objects.get(pk=patient.pk).text_consent


def test_both_to_text_cancels_only_the_emails():
    patient = _patient(texts=True)
    _plan(patient)
    texts_before = _waiting(patient, Channel.TEXT)
    reminder_channels_choose(patient=patient, channels=TEXT, now=LATER)
    assert _waiting(patient, Channel.EMAIL) == set()
    assert _waiting(patient, Channel.TEXT) == texts_before
    assert _changes(patient) == [(Channel.EMAIL, False, ConsentSource.PATIENT_CHOICE)]


def test_choosing_what_the_patient_already_has_changes_nothing():
    patient = _patient(texts=True)
    _plan(patient)
    before = (_waiting(patient, Channel.EMAIL), _waiting(patient, Channel.TEXT))
    choice = reminder_channels_choose(patient=patient, channels=BOTH, now=LATER)
    assert (choice.turned_on, choice.turned_off, choice.cancelled, choice.put_back) == (
        (),
        (),
        0,
        0,
    )
    assert (_waiting(patient, Channel.EMAIL), _waiting(patient, Channel.TEXT)) == before
    assert _changes(patient) == []
    assert Patient.objects.get(pk=patient.pk).email_consent_at == NOW


def test_a_channel_named_twice_counts_once():
    patient = _patient()
    choice = reminder_channels_choose(
        patient=patient, channels=(Channel.TEXT, Channel.TEXT), now=LATER
    )
    assert choice.channels == TEXT
    assert _changes(patient)[-1] == (Channel.TEXT, True, ConsentSource.PATIENT_CHOICE)


def test_the_patient_passed_in_sees_the_new_consent():
    patient = _patient()
    reminder_channels_choose(patient=patient, channels=TEXT, now=LATER)
    assert (patient.email_consent, patient.text_consent) == (False, True)


def test_a_patient_who_had_unsubscribed_can_choose_texts():
    patient = _patient(emails=False)
    plan = _plan(patient)
    reminder_channels_choose(patient=patient, channels=TEXT, now=LATER)
    assert _waiting(patient, Channel.TEXT) == _still_to_come(plan)
    assert _changes(patient) == [(Channel.TEXT, True, ConsentSource.PATIENT_CHOICE)]


def test_a_patient_without_a_plan_only_has_their_consent_changed():
    patient = _patient()
    choice = reminder_channels_choose(patient=patient, channels=TEXT, now=LATER)
    assert choice.put_back == 0
    assert not Reminder.objects.filter(patient=patient).exists()


def test_it_locks_the_patients_row_before_reading_the_consent():
    patient = _patient()
    with CaptureQueriesContext(connection) as queries:
        reminder_channels_choose(patient=patient, channels=TEXT, now=LATER)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert 'FROM "patients_patient"' in reads[0]
    assert reads[0].endswith("FOR UPDATE")


def test_it_reads_the_consent_from_the_database_not_the_instance_passed_in():
    # Another post changed it meanwhile: this one is applied on top of what it left.
    patient = _patient()
    stale = Patient.objects.get(pk=patient.pk)
    reminder_channels_choose(patient=patient, channels=TEXT, now=NOW)
    reminder_channels_choose(patient=stale, channels=BOTH, now=LATER)
    assert _changes(patient)[-1] == (Channel.EMAIL, True, ConsentSource.PATIENT_CHOICE)
    assert len(_changes(patient)) == 3


# Refused


def _refused(patient: Patient, channels: tuple[Channel, ...]) -> ChannelUnavailable:
    with pytest.raises(ChannelUnavailable) as refused:
        reminder_channels_choose(patient=patient, channels=channels, now=LATER)
    return refused.value


def _unchanged(patient: Patient, emails: set[str], texts: set[str]) -> None:
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.email_consent, stored.text_consent) == (patient.email_consent, False)
    assert _changes(patient) == []
    assert (_waiting(patient, Channel.EMAIL), _waiting(patient, Channel.TEXT)) == (emails, texts)


def test_texts_are_refused_without_a_phone_number_and_nothing_changes():
    patient = _patient(phone="")
    _plan(patient)
    emails = _waiting(patient, Channel.EMAIL)
    refused = _refused(patient, TEXT)
    assert (refused.code, refused.channel) == (NO_PHONE, Channel.TEXT)
    assert "mobile number" in str(refused)
    _unchanged(patient, emails, set())


def test_both_is_refused_without_a_phone_number_and_the_emails_stay():
    patient = _patient(phone="")
    _plan(patient)
    emails = _waiting(patient, Channel.EMAIL)
    assert _refused(patient, BOTH).code == NO_PHONE
    _unchanged(patient, emails, set())


def test_texts_are_refused_to_a_number_marked_undeliverable():
    patient = _patient(phone_undeliverable_at=NOW, phone_undeliverable_reason=TextProblem.INVALID)
    refused = _refused(patient, TEXT)
    assert refused.code == PHONE_UNDELIVERABLE
    assert "check your number" in refused.message


def test_texts_are_refused_while_texts_are_not_set_up(settings):
    settings.TEXT_BACKEND = ""
    patient = _patient()
    _plan(patient)
    emails = _waiting(patient, Channel.EMAIL)
    assert _refused(patient, TEXT).code == TEXTS_OFF
    _unchanged(patient, emails, set())


def test_while_texts_are_not_set_up_choosing_email_withdraws_the_text_consent(settings):
    patient = _patient(texts=True)
    settings.TEXT_BACKEND = ""
    choice = reminder_channels_choose(patient=patient, channels=EMAIL, now=LATER)
    assert choice.turned_off == TEXT
    assert not Patient.objects.get(pk=patient.pk).text_consent


def test_texts_are_refused_after_a_stop_reply_until_start():
    # The provider refuses every text to a number that replied STOP, until it replies START.
    patient = _patient(texts=True)
    texts_stop_for_patient(patient=patient, source=ConsentSource.TEXT_STOP, now=NOW)
    refused = _refused(patient, TEXT)
    assert refused.code == REPLIED_STOP
    assert "reply START" in refused.message


def test_emails_are_refused_without_an_address():
    patient = _patient(emails=False, email="")
    assert _refused(patient, EMAIL).code == NO_EMAIL


def test_emails_are_refused_to_an_address_marked_undeliverable():
    patient = _patient(email_undeliverable_at=NOW, email_undeliverable_reason="bounced")
    _plan(patient)
    refused = _refused(patient, BOTH)
    assert (refused.code, refused.channel) == (EMAIL_UNDELIVERABLE, Channel.EMAIL)


def test_choosing_nothing_is_refused():
    patient = _patient()
    assert _refused(patient, ()).code == NO_CHANNEL
    assert Patient.objects.get(pk=patient.pk).email_consent


# What may be chosen


def test_a_patient_with_an_address_and_a_number_may_choose_both():
    assert channels_choosable(_patient()) == BOTH


def test_a_patient_without_a_number_may_only_choose_email():
    assert channels_choosable(_patient(phone="")) == EMAIL


def test_nobody_may_choose_texts_while_they_are_not_set_up(settings):
    settings.TEXT_BACKEND = ""
    assert channels_choosable(_patient()) == EMAIL


def test_a_patient_whose_address_bounced_may_only_choose_texts():
    patient = _patient(email_undeliverable_at=NOW, email_undeliverable_reason="bounced")
    assert channels_choosable(patient) == TEXT
