"""Named cases of the shipped guidance, each showing one promise of the content.

Every case describes its treatments as `aftercare_preview` options and checks the plans
in their JSON form (`plan_to_dict`), so the same case runs through the planner
(tests/aftercare/planner/test_default_guidance_cases.py) and through the command
(tests/aftercare/management/commands/test_aftercare_preview_cases.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aftercare.planner.inputs import ClinicFacts, TreatmentFacts
from clinic.zones import climate_for_timezone, hemisphere_for_timezone

PlanJson = dict[str, Any]

FACE_WORDS = re.compile(r"\b(face|facial|makeup|make-up)\b", re.IGNORECASE)
EYE_WORDS = re.compile(r"\beyes?\b", re.IGNORECASE)
# Hair care for a treated scalp (hair removal is for the skin of any other area).
HAIR_WORDS = re.compile(r"\b(scalp|shampoo|your hair|hair dye|hair products?)\b", re.IGNORECASE)
BODY_WORDS = re.compile(r"\b(clothes|clothing|sheets)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Treatment:
    """One treatment, as the options of `aftercare_preview` describe it."""

    depth: str = "1.0"
    passes: int = 2
    areas: tuple[str, ...] = ("cheeks",)
    device: str = "pen"
    skin_type: int = 3
    history: tuple[str, ...] = ()
    when: str = "2027-04-14T10:00"
    timezone: str = "Europe/London"

    def options(self) -> list[str]:
        args = ["--depth", self.depth, "--passes", str(self.passes)]
        for area in self.areas:
            args += ["--area", area]
        args += ["--device", self.device, "--skin-type", str(self.skin_type)]
        for flag in self.history:
            args += ["--history", flag]
        return [*args, "--date", self.when, "--timezone", self.timezone]

    def facts(self) -> tuple[TreatmentFacts, ClinicFacts]:
        zone = ZoneInfo(self.timezone)
        treatment = TreatmentFacts(
            performed_at=datetime.fromisoformat(self.when).replace(tzinfo=zone),
            depth_mm=Decimal(self.depth),
            passes=self.passes,
            areas=frozenset(self.areas),
            device=self.device,
            skin_type=self.skin_type,
            history=frozenset(self.history),
        )
        clinic = ClinicFacts(
            name="Preview clinic",
            phone="+00 0000 000000",
            email="clinic@example.com",
            timezone=self.timezone,
            hemisphere=hemisphere_for_timezone(self.timezone),
            climate=climate_for_timezone(self.timezone),
        )
        return treatment, clinic


@dataclass(frozen=True)
class Case:
    name: str
    treatments: Sequence[Treatment]
    check: Callable[..., None]  # takes one plan (JSON) per treatment


# Reading plans in their JSON form ---------------------------------------------------


def hours(plan: PlanJson) -> dict[str, int]:
    return {r["key"]: r["hours"] for r in plan["restrictions"]}


def item_keys(plan: PlanJson) -> set[str]:
    return {item["key"] for item in plan["items"]}


def item(plan: PlanJson, key: str) -> dict[str, Any]:
    return next(item for item in plan["items"] if item["key"] == key)


def texts(plan: PlanJson, *, warnings: bool = False) -> list[tuple[str, str]]:
    """(key, title and body) of the plan's items and restrictions; warnings if asked."""
    shown = [
        (i["key"], f"{i['title']} {i['body_md']}")
        for i in plan["items"]
        if warnings or i["kind"] != "warning"
    ]
    return shown + [(r["key"], f"{r['label']} {r['body_md']}") for r in plan["restrictions"]]


def mentioning(plan: PlanJson, words: re.Pattern[str]) -> list[str]:
    return [key for key, text in texts(plan) if words.search(text)]


def started_by(plan: PlanJson, key: str, hours_after: int) -> bool:
    performed = datetime.fromisoformat(plan["performed_at"])
    return datetime.fromisoformat(item(plan, key)["starts_at"]) <= performed + timedelta(
        hours=hours_after
    )


def assert_lasts_longer(more: PlanJson, less: PlanJson) -> None:
    """No restriction of `more` is shorter, and at least one is longer."""
    longer, shorter = hours(more), hours(less)
    assert all(longer[key] >= shorter[key] for key in shorter), (longer, shorter)
    assert any(longer[key] > shorter[key] for key in shorter), (longer, shorter)


# The cases -----------------------------------------------------------------------------


def _severe_allergy_goes_to_the_emergency_number(*plans: PlanJson) -> None:
    for plan in plans:
        (severe,) = [w for w in plan["warnings"] if "X1" in w["fact_ids"]]
        assert "emergency number" in severe["body_md"]
        assert "contact your clinic" not in severe["body_md"].lower()


def _face_treatments_warn_of_cold_sores(face: PlanJson, body: PlanJson) -> None:
    assert any("X2" in w["fact_ids"] for w in face["warnings"])
    assert not any("X2" in w["fact_ids"] for w in body["warnings"])


def _infection_signs_are_concrete(plan: PlanJson) -> None:
    (infection,) = [w for w in plan["warnings"] if "X3" in w["fact_ids"] and "W2" in w["fact_ids"]]
    for sign in ("red streaks", "pus", "yellow crusts", "fever", "spreads"):
        assert sign in infection["body_md"].lower()


def _lasting_redness_is_no_warning_on_treatment_day(plan: PlanJson) -> None:
    (lasting,) = [w for w in plan["warnings"] if "W1" in w["fact_ids"]]
    performed = datetime.fromisoformat(plan["performed_at"])
    assert datetime.fromisoformat(lasting["starts_at"]) == performed + timedelta(hours=72)


def _fragrance_is_one_message_with_one_end(plan: PlanJson) -> None:
    # The restriction says when fragranced products are fine again; no "avoid" item says
    # it a second time with another end.
    assert plan["intensity"]["label"] == "Light"
    assert "fragrance_alcohol" in hours(plan)
    avoid_items = [i for i in plan["items"] if i["kind"] == "avoid"]
    assert [
        i["key"] for i in avoid_items if re.search(r"fragrance|perfume", i["title"] + i["body_md"])
    ] == []


def _a_neck_only_patient_reads_nothing_about_eyes_or_makeup(plan: PlanJson) -> None:
    assert mentioning(plan, EYE_WORDS) == []
    assert mentioning(plan, FACE_WORDS) == []
    assert "neck-collars" in item_keys(plan)


def _scalp_gets_hair_care_and_no_face_or_body_advice(plan: PlanJson) -> None:
    for key in (
        "scalp-no-hair-wash",
        "scalp-gentle-hair-wash",
        "scalp-styling-products",
        "scalp-heat-styling",
        "scalp-dye-perm-relaxer",
    ):
        assert key in item_keys(plan)
    assert mentioning(plan, FACE_WORDS) == []
    assert mentioning(plan, BODY_WORDS) == []
    assert "makeup" not in hours(plan)


def _body_gets_clothing_and_shaving_and_no_face_or_hair_advice(*plans: PlanJson) -> None:
    for plan in plans:
        body_items = {"body-loose-clothing", "shaving-when-settled", "body-gentle-washing"}
        assert body_items <= item_keys(plan)
        assert mentioning(plan, FACE_WORDS) == []
        assert mentioning(plan, HAIR_WORDS) == []
        assert mentioning(plan, EYE_WORDS) == []


def _the_face_gets_no_hair_or_clothing_advice(plan: PlanJson) -> None:
    assert mentioning(plan, HAIR_WORDS) == []
    assert mentioning(plan, BODY_WORDS) == []
    assert "makeup" in hours(plan)


def _first_day_titles_carry_no_day_numbers(plan: PlanJson) -> None:
    titled = [i["title"] for i in plan["items"] if re.search(r"\bdays? \d", i["title"], re.I)]
    assert titled == []
    assert "timeline-day-1" in item_keys(plan)


def _brushes_wait_for_makeup(plan: PlanJson) -> None:
    makeup_ends = datetime.fromisoformat(
        next(r for r in plan["restrictions"] if r["key"] == "makeup")["ends_at"]
    )
    assert datetime.fromisoformat(item(plan, "clean-makeup-brushes")["starts_at"]) == makeup_ends


def _the_clinic_sheets_restrictions_are_there(plan: PlanJson) -> None:
    assert {"swimming", "hair_removal", "other_treatments", "hot_water_steam"} <= set(hours(plan))
    assert {"clean-makeup-brushes", "head-raised-first-night"} <= item_keys(plan)


def _deeper_lasts_longer(deeper: PlanJson, shallower: PlanJson) -> None:
    assert_lasts_longer(deeper, shallower)


def _rf_adds_its_own_item_and_time(rf: PlanJson, pen: PlanJson) -> None:
    assert "rf-extra-warmth" in item_keys(rf) and "rf-extra-warmth" not in item_keys(pen)
    assert_lasts_longer(rf, pen)


def _a_roller_adds_its_own_item_and_time(roller: PlanJson, pen: PlanJson) -> None:
    assert "roller-tenderness" in item_keys(roller)
    assert "roller-tenderness" not in item_keys(pen)
    assert_lasts_longer(roller, pen)


def _the_heaviest_treatment_is_not_the_same_as_a_moderate_one(
    heavy: PlanJson, moderate: PlanJson
) -> None:
    assert_lasts_longer(heavy, moderate)
    assert item_keys(heavy) != item_keys(moderate)


def _sensitive_skin_waits_longer(sensitive: PlanJson, usual: PlanJson) -> None:
    assert_lasts_longer(sensitive, usual)
    assert "sensitive-skin" in item_keys(sensitive)


def _slow_healing_waits_longer(slow: PlanJson, usual: PlanJson) -> None:
    assert_lasts_longer(slow, usual)
    assert "slow-healing-history" in item_keys(slow)


def _tropical_clinics_get_heat_and_humidity_all_year(*plans: PlanJson) -> None:
    for plan in plans:
        assert plan["season"] == "tropical"
        assert "tropical-skincare" in item_keys(plan)
        assert not {"winter-skincare", "summer-skincare"} & item_keys(plan)


def _january_is_summer_in_sydney_and_winter_in_london(sydney: PlanJson, london: PlanJson) -> None:
    assert "summer-skincare" in item_keys(sydney)
    assert "winter-skincare" in item_keys(london)
    assert "tropical-skincare" not in item_keys(sydney) | item_keys(london)


CHEEKS = Treatment()
CASES = (
    Case(
        "a severe allergic reaction goes to the emergency number in every plan",
        [
            Treatment(areas=("cheeks",)),
            Treatment(areas=("scalp",)),
            Treatment(areas=("hands",)),
            Treatment(areas=("neck",)),
        ],
        _severe_allergy_goes_to_the_emergency_number,
    ),
    Case(
        "face treatments warn of cold sores, body ones do not",
        [Treatment(areas=("perioral",)), Treatment(areas=("body",))],
        _face_treatments_warn_of_cold_sores,
    ),
    Case("infection signs are concrete", [CHEEKS], _infection_signs_are_concrete),
    Case(
        "lasting redness becomes a warning sign only after 72 hours",
        [CHEEKS],
        _lasting_redness_is_no_warning_on_treatment_day,
    ),
    Case(
        "a light plan says to skip fragrance once, with one end",
        [Treatment(depth="0.25", passes=1)],
        _fragrance_is_one_message_with_one_end,
    ),
    Case(
        "a neck-only patient reads nothing about eyes or makeup",
        [Treatment(areas=("neck",))],
        _a_neck_only_patient_reads_nothing_about_eyes_or_makeup,
    ),
    Case(
        "the scalp gets hair care and no face or body advice",
        [Treatment(areas=("scalp",))],
        _scalp_gets_hair_care_and_no_face_or_body_advice,
    ),
    Case(
        "the body gets clothing and shaving, and no face or hair advice",
        [Treatment(areas=("body",)), Treatment(areas=("hands",))],
        _body_gets_clothing_and_shaving_and_no_face_or_hair_advice,
    ),
    Case(
        "the face gets no hair or clothing advice",
        [Treatment(areas=("cheeks", "forehead", "periorbital"))],
        _the_face_gets_no_hair_or_clothing_advice,
    ),
    Case(
        "an evening treatment's first day is named in hours, not day numbers",
        [Treatment(when="2027-04-14T19:30")],
        _first_day_titles_carry_no_day_numbers,
    ),
    Case("clean brushes come when makeup is allowed again", [CHEEKS], _brushes_wait_for_makeup),
    Case(
        "pools, hair removal, other treatments, hot showers, brushes and head raised",
        [CHEEKS],
        _the_clinic_sheets_restrictions_are_there,
    ),
    Case(
        "more depth lasts longer",
        [Treatment(depth="1.5"), Treatment(depth="1.0")],
        _deeper_lasts_longer,
    ),
    Case(
        "more passes last longer",
        [Treatment(passes=5), Treatment(passes=3)],
        _deeper_lasts_longer,
    ),
    Case(
        "a second area lasts longer",
        [Treatment(areas=("cheeks", "chin_jawline")), Treatment(areas=("cheeks",))],
        _deeper_lasts_longer,
    ),
    Case(
        "radiofrequency adds its own item and time",
        [Treatment(device="rf"), Treatment(device="pen")],
        _rf_adds_its_own_item_and_time,
    ),
    Case(
        "a roller adds its own item and time",
        [Treatment(device="roller", depth="0.5", passes=1), Treatment(depth="0.25", passes=1)],
        _a_roller_adds_its_own_item_and_time,
    ),
    Case(
        "3.0 mm x 10 with RF on six areas is not the plan of 1.5 mm x 3 on the cheeks",
        [
            Treatment(
                depth="3.0",
                passes=10,
                device="rf",
                areas=("forehead", "cheeks", "nose", "perioral", "chin_jawline", "neck"),
            ),
            Treatment(depth="1.5", passes=3),
        ],
        _the_heaviest_treatment_is_not_the_same_as_a_moderate_one,
    ),
    Case(
        "sensitive skin waits longer",
        [Treatment(history=("sensitive_skin",)), CHEEKS],
        _sensitive_skin_waits_longer,
    ),
    Case(
        "slow healing waits longer",
        [Treatment(history=("slow_healing",)), CHEEKS],
        _slow_healing_waits_longer,
    ),
    Case(
        "Singapore and Bogota get heat and humidity advice in January and July",
        [
            Treatment(timezone="Asia/Singapore", when="2027-01-15T10:00"),
            Treatment(timezone="America/Bogota", when="2027-01-15T10:00"),
            Treatment(timezone="Asia/Singapore", when="2027-07-15T10:00"),
        ],
        _tropical_clinics_get_heat_and_humidity_all_year,
    ),
    Case(
        "January is summer in Sydney and winter in London",
        [
            Treatment(timezone="Australia/Sydney", when="2027-01-15T10:00"),
            Treatment(timezone="Europe/London", when="2027-01-15T10:00"),
        ],
        _january_is_summer_in_sydney_and_winter_in_london,
    ),
)
