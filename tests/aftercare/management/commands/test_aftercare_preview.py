from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

SPEC_EXAMPLE = (
    "--depth",
    "1.5",
    "--passes",
    "3",
    "--area",
    "periorbital",
    "--area",
    "cheeks",
    "--skin-type",
    "V",
    "--date",
    "2027-01-15",
    "--timezone",
    "Australia/Sydney",
)
# A light treatment: every option the tests below leave out takes its default.
LIGHT = ("--depth", "0.5", "--passes", "2", "--area", "cheeks", "--skin-type", "2")


def preview(*args: str) -> str:
    out = io.StringIO()
    call_command("aftercare_preview", *args, stdout=out)
    return out.getvalue()


def preview_json(*args: str) -> dict:
    return json.loads(preview(*args, "--format", "json"))


def with_option(args: tuple[str, ...], option: str, value: str) -> tuple[str, ...]:
    """`args` with the value of `option` replaced (or the option added)."""
    if option not in args:
        return (*args, option, value)
    at = args.index(option)
    return (*args[: at + 1], value, *args[at + 2 :])


def error_for(*args: str) -> str:
    with pytest.raises(CommandError) as raised:
        preview(*args)
    return str(raised.value)


pytestmark = pytest.mark.django_db


def test_spec_example_prints_the_plan_as_json():
    plan = preview_json(*SPEC_EXAMPLE)
    assert plan["format"] == 1
    assert plan["performed_at"] == "2027-01-15T10:00:00+11:00"
    assert plan["timezone"] == "Australia/Sydney"
    assert plan["clinic"]["hemisphere"] == "south"


def test_spec_example_is_moderate():
    intensity = preview_json(*SPEC_EXAMPLE)["intensity"]
    # depth 1.5 scores 3, three passes 1, two areas 1: 5 reaches Moderate, not Intense (6).
    assert (intensity["score"], intensity["rank"], intensity["label"]) == (5, 2, "Moderate")


def test_january_in_sydney_is_summer():
    plan = preview_json(*SPEC_EXAMPLE)
    assert plan["season"] == "summer"
    assert "summer-skincare" in {item["key"] for item in plan["items"]}


def test_restrictions_end_at_iso_times_in_sydney_summer_time():
    restrictions = {r["key"]: r for r in preview_json(*SPEC_EXAMPLE)["restrictions"]}
    # Light's 48 h and 6 h for each of the 5 points above Light's minimum.
    assert restrictions["makeup"]["hours"] == 78
    assert restrictions["makeup"]["ends_at"] == "2027-01-18T16:00:00+11:00"
    for restriction in restrictions.values():
        assert restriction["ends_at"].endswith("+11:00")
        assert datetime.fromisoformat(restriction["ends_at"]).tzinfo is not None


def test_reminders_have_iso_send_times():
    reminders = preview_json(*SPEC_EXAMPLE)["reminders"]
    assert reminders[0]["key"] == "day-0"
    assert reminders[0]["send_at"] == "2027-01-15T10:00:00+11:00"
    assert reminders[1]["send_at"] == "2027-01-16T09:00:00+11:00"
    for reminder in reminders:
        assert datetime.fromisoformat(reminder["send_at"]).tzinfo is not None


def test_fact_ids_are_listed_for_the_plan_and_its_parts():
    plan = preview_json(*SPEC_EXAMPLE)
    assert {"R1", "W1", "F3", "F4"} <= set(plan["fact_ids"])
    assert plan["restrictions"][0]["fact_ids"] == ["R1"]


def test_repeated_area_options_are_all_treated():
    plan = preview_json(*SPEC_EXAMPLE)
    # periorbital brings the eyes' own item; cheeks alone would not.
    assert "eyes-puffy-mornings" in {item["key"] for item in plan["items"]}
    cheeks_only = preview_json(*with_option(SPEC_EXAMPLE, "--area", "cheeks"))
    assert "eyes-puffy-mornings" not in {item["key"] for item in cheeks_only["items"]}


def test_three_repeated_areas_count_towards_intensity():
    one_area = preview_json(*LIGHT)["intensity"]["score"]
    three_areas = preview_json(*LIGHT, "--area", "nose", "--area", "chin_jawline")
    assert three_areas["intensity"]["score"] == one_area + 1


@pytest.mark.parametrize("skin_type", ["V", "v", "5"])
def test_skin_type_accepts_roman_in_any_case_and_numbers(skin_type):
    plan = preview_json(*with_option(SPEC_EXAMPLE, "--skin-type", skin_type))
    assert "darker-skin-sun" in {item["key"] for item in plan["items"]}


@pytest.mark.parametrize("skin_type", ["ii", "II", "2"])
def test_lighter_skin_types_have_no_darker_skin_item(skin_type):
    plan = preview_json(*with_option(SPEC_EXAMPLE, "--skin-type", skin_type))
    assert "darker-skin-sun" not in {item["key"] for item in plan["items"]}


def test_a_full_datetime_is_local_time_in_the_timezone():
    plan = preview_json(*with_option(SPEC_EXAMPLE, "--date", "2027-07-01T14:30"))
    assert plan["performed_at"] == "2027-07-01T14:30:00+10:00"
    assert plan["season"] == "winter"


def test_defaults_are_a_london_pen_treatment_at_the_preview_clinic():
    plan = preview_json(*LIGHT, "--date", "2027-01-15")
    assert plan["performed_at"] == "2027-01-15T10:00:00+00:00"
    assert plan["clinic"]["name"] == "Preview clinic"
    assert plan["clinic"]["phone"] == "+00 0000 000000"
    assert plan["clinic"]["email"] == "clinic@example.com"
    assert plan["season"] == "winter"


def test_clinic_options_reach_the_plan():
    plan = preview_json(
        *LIGHT,
        "--clinic-name",
        "Glow",
        "--clinic-phone",
        "+44 20 7946 0018",
        "--clinic-email",
        "hi@glow.example",
    )
    assert plan["clinic"]["name"] == "Glow"
    assert (plan["clinic"]["phone"], plan["clinic"]["email"]) == (
        "+44 20 7946 0018",
        "hi@glow.example",
    )


def test_device_age_and_history_are_used():
    plan = preview_json(*LIGHT, "--device", "rf", "--age", "55", "--history", "breakout_prone")
    keys = {item["key"] for item in plan["items"]}
    assert {"age-slower-settling", "breakout-prone"} <= keys
    assert plan["intensity"]["score"] == preview_json(*LIGHT)["intensity"]["score"] + 2


def test_text_format_shows_when_each_restriction_ends():
    text = preview(*SPEC_EXAMPLE)
    assert "Makeup: from Monday 18 January 16:00" in text


def test_text_format_shows_intensity_season_reminders_warnings_and_facts():
    text = preview(*SPEC_EXAMPLE)
    assert "Intensity: Moderate" in text
    assert "Season: summer" in text
    assert "Day 1, Saturday 16 January 09:00: The morning after" in text
    assert "Signs of infection" in text
    assert "Fact ids: C1, " in text


def test_text_format_adds_the_year_to_dates_in_the_next_year():
    text = preview(*with_option(SPEC_EXAMPLE, "--date", "2027-12-20"))
    assert "Sunbathing and tanning beds: from Wednesday 5 January 2028 22:00" in text


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--depth", "3.5", "argument --depth: 3.5 mm is out of range"),
        ("--depth", "0", "needle depth must be 0.1 to 3.0 mm"),
        ("--depth", "deep", "argument --depth: 'deep' is not a number"),
        ("--depth", "1.255", "use at most 2"),
        ("--passes", "0", "passes must be a whole number from 1 to 10"),
        ("--passes", "11", "argument --passes: '11' is not allowed"),
        ("--area", "lips", "argument --area: invalid choice: 'lips'"),
        ("--device", "laser", "argument --device: invalid choice: 'laser'"),
        ("--skin-type", "VII", "use I, II, III, IV, V or VI (any case), or 1 to 6"),
        ("--skin-type", "0", "argument --skin-type: '0' is not a Fitzpatrick skin type"),
        ("--age", "old", "argument --age: 'old' is not an age"),
        ("--history", "diabetic", "argument --history: invalid choice: 'diabetic'"),
        ("--date", "2027-02-30", "argument --date: '2027-02-30' is not a date; use YYYY-MM-DD"),
        ("--date", "15/01/2027", "argument --date: '15/01/2027' is not a date"),
        ("--timezone", "Mars/Olympus", "argument --timezone: unknown time zone 'Mars/Olympus'"),
        ("--format", "xml", "argument --format: invalid choice: 'xml'"),
    ],
)
def test_bad_input_names_the_option(option, value, expected):
    assert expected in error_for(*with_option(LIGHT, option, value))


def test_unknown_area_lists_the_allowed_areas():
    message = error_for(*with_option(LIGHT, "--area", "lips"))
    assert "'periorbital'" in message
    assert "'chin_jawline'" in message


def test_unknown_timezone_suggests_iana_names():
    message = error_for(*with_option(LIGHT, "--timezone", "Sydney"))
    assert "use an IANA name such as Europe/London" in message


def test_missing_area_lists_the_allowed_areas():
    message = error_for("--depth", "1.0", "--passes", "2", "--skin-type", "3")
    assert "--area is required" in message
    assert "periorbital" in message


@pytest.mark.parametrize("missing", ["--depth", "--passes", "--skin-type"])
def test_required_options_are_required(missing):
    at = LIGHT.index(missing)
    without = LIGHT[:at] + LIGHT[at + 2 :]
    assert missing in error_for(*without)
