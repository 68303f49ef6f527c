"""Default clinical content for microneedling (collagen induction therapy) aftercare.

`DEFAULT_GUIDANCE` is what the data migration installs on a fresh system: recovery phases,
guidance items, restrictions, reminder moments and the intensity table. It is only a
starting point. After installation the clinic's admins own the content and edit it in the
Django admin; nothing reads this module at run time except that migration (and the tests).

Every entry names, in `fact_ids`, the numbered facts it rests on: `shared/CLINICAL_FACTS.md`
(P, H, R, C, W, F: five articles) and `shared/PRACTICE_FACTS.md` (X1-X12: safety points from
clinics' own aftercare sheets and first-aid guidance, which the articles leave out). The
patient-facing wording here is our own, and the articles' product advertising (brand names,
kits, add-on treatments) is left out on purpose. All timings are whole hours after the moment
of treatment.

How the articles' disagreements were resolved
---------------------------------------------
Where sources give different durations we scale them by treatment intensity and, when in
doubt, take the more cautious figure (hours light / moderate / intense):

* Makeup (R1): 24 h in two articles, 48-72 h in another. We use 48 / 48 / 72, and suggest
  mineral, non-comedogenic makeup when it is allowed again.
* Heavy exercise, sweating, saunas (R2): the sources say "at least 24 h". 24 / 48 / 72, so
  an intense treatment covers the whole inflammation phase (first 72 h). Saunas are said
  with the other heat (X10, below), so one restriction names them, with one end.
* Retinoids, acids, exfoliants (R3): 48-72 h, "the first week" and "several weeks". We
  never go below the first week: 168 / 336 / 504 (one, two, three weeks).
* Vitamin C serums (R4): one article says avoid them for the first week, another
  recommends vitamin C and E for healing. Reconciled by phase: no topical vitamin C serum
  until the rebuilding phase is over (168 / 168 / 240), while vitamin C and E from food are
  encouraged throughout.
* Fragranced, dyed or alcohol-based products (R5): "during healing", read as until the end
  of the inflammation phase after a light treatment and the end of the first week
  otherwise: 72 / 168 / 168. Only the restriction says it (no "avoid" item repeats it with
  another end).
* Sun, sunbathing, tanning beds (R6): "at least two weeks"; 336 / 336 / 504, with daily
  SPF 30+ carrying on for weeks afterwards.
* Anti-inflammatory painkillers (R7): one week for everyone (168 h); paracetamol instead
  for discomfort if it suits the patient. No dosing advice is given.
* Ice on the face, arnica, bromelain (R8): the source gives no duration; we use the same
  week as for anti-inflammatory painkillers (168 h).
* Redness (P5, H3, H4): "24-48 h" in some sources, "up to 4 days" in others. The
  expectation item gives both, and the warning sign (W1) starts 72 h after treatment:
  before then warm, red skin is what the plan calls normal.
* Picking or peeling flaking skin (R9) is "always" avoided: an open-ended item from 0 h.
* Practice facts (X4-X10), where the clinic sheets disagree, take the longer wait: pools,
  hot tubs, lakes and the sea 4 days (X4: sheets say 24 h to 4 days); waxing, threading,
  hair removal creams and laser hair removal 2 weeks (X5: 7-14 days), shaving once the skin
  has settled; other treatments on the same skin 2 weeks (X6); hot showers, steam rooms and
  hot yoga 48 h (X10: 24-48 h), 72 h after an intense treatment like exercise (R2).
* Sunscreen (X7 against H3/C4): no sunscreen on the first day, shade and a hat instead;
  from 24 h (day 2) a mineral broad-spectrum SPF 30+ every morning.
* Warning signs: a severe allergic reaction (X1) sends the patient to the local emergency
  number, not the clinic; infection (W2, X3) and cold sores (X2) are said concretely and
  need the clinic the same day.
* Areas come in families (`AREA_FAMILIES`: face, eyes, neck, scalp, body and hands).
  Advice that only fits some families names them in its conditions (items) or `areas`
  (restrictions), so a scalp gets hair washing, styling, heat and dye (X12) and no makeup,
  a body gets clothing and shaving, a neck no puffy eyes. Wording shown to every family
  says "the treated skin".
* Items that describe what happens when a restriction ends ("clean your brushes" once
  makeup is allowed) name it in `after_restriction`: their hours count from its end.
* Seasons follow the clinic's climate: between the tropics the season is "tropical" all
  year, with heat-and-humidity advice instead of winter or summer creams (F7).

The intensity table (tunable defaults)
--------------------------------------
The planner scores a treatment with `IntensityFactor` rows and maps the score to an
`IntensityLevel`. For depth, passes and area count the highest matching row counts; area
and device rows add up.

* depth (mm): 0.1 -> 0, 0.5 -> 1, 1.0 -> 2, 1.5 -> 3, 2.0 -> 4, 2.5 -> 5 points (F1)
* passes: 1 -> 0, 3 -> 1, 5 -> 2, 8 -> 3, 10 -> 4 points (F2)
* number of areas treated: 2 -> 1, 4 -> 2, 6 -> 3 points
* area: body -> 1, decolletage -> 1 point (larger surfaces)
* device: rf -> 2 points (radiofrequency adds heat), roller -> 1 point (its needles go in
  at a slant and tear the surface more than a pen's) (F2)
* history: slow_healing -> 2, sensitive_skin -> 1 point (F6: some conditions need more
  healing time)
* levels: Light from score 0 (24 h downtime), Moderate from 3 (48 h), Intense from 6
  (72 h), matching the usual 1-3 days of social downtime (P8).

Three levels would saturate on their own (before, three quarters of treatments were
Intense and 1.5 mm x 3 on the cheeks got the plan of 3.0 mm x 10 with RF on six areas), so
the restrictions that depend on how hard the skin was worked (makeup, exercise, sun,
actives, vitamin C, fragrance, heat) also grow by `hours_per_point` for every point above
the level's minimum score. Waits that rest on a fixed reason (chlorine and germs in pools,
hair removal, other treatments, painkillers, ice) stay as the sheets give them.
"""

from __future__ import annotations

from decimal import Decimal

from aftercare.planner.inputs import (
    AREA_FAMILIES,
    DELICATE_AREAS,
    Conditions,
    Guidance,
    GuidanceItem,
    IntensityFactor,
    IntensityLevel,
    Phase,
    ReminderMoment,
    Restriction,
)

DAY = 24
WEEK = 7 * DAY

FACE = AREA_FAMILIES["face"]
EYES = AREA_FAMILIES["eyes"]
NECK = AREA_FAMILIES["neck"]
SCALP = AREA_FAMILIES["scalp"]
BODY = AREA_FAMILIES["body"]
# Skin a wide-brimmed hat shades.
FACE_AND_NECK = FACE | EYES | NECK
# Skin that gets creams, serums and sunscreen (the scalp has its own hair care items).
SKIN = FACE | EYES | NECK | BODY

# ---------------------------------------------------------------------------
# Recovery phases
# ---------------------------------------------------------------------------

PHASES: tuple[Phase, ...] = (
    Phase(
        key="inflammation",
        name="Settling down",
        summary_md=(
            "At first your skin is busy starting its repair. Redness, warmth "
            "and a little swelling are normal signs that healing is under way."
        ),
        starts_after_hours=0,
        ends_after_hours=3 * DAY,
        fact_ids=("P1", "P5"),
    ),
    Phase(
        key="proliferation",
        name="Rebuilding",
        summary_md=(
            "After the first three days, and for about four more, your skin makes fresh "
            "collagen underneath. Some light flaking on the surface is common. It is nothing "
            "to worry about."
        ),
        starts_after_hours=3 * DAY,
        ends_after_hours=WEEK,
        fact_ids=("P2",),
    ),
    Phase(
        key="remodelling",
        name="Strengthening",
        summary_md=(
            "Over the next weeks and months, the new collagen slowly firms up. Texture and "
            "tone can keep getting better. Looking after your skin still counts."
        ),
        starts_after_hours=WEEK,
        ends_after_hours=None,
        fact_ids=("P3",),
    ),
)

# ---------------------------------------------------------------------------
# Guidance items
# ---------------------------------------------------------------------------

_FIRST_DAYS: tuple[GuidanceItem, ...] = (
    GuidanceItem(
        key="first-hours-warm-flushed",
        kind="expect",
        title="Warm, pink and a little puffy",
        body_md=(
            "Right after treatment your skin will likely feel warm and look flushed, a bit "
            "like a mild sunburn. A little swelling or tiny dots of blood can show. They "
            "usually clear within a few hours."
        ),
        starts_after_hours=0,
        ends_after_hours=12,
        fact_ids=("H1",),
        order=10,
    ),
    GuidanceItem(
        key="hands-off",
        kind="avoid",
        title="Touching the treated skin",
        body_md=(
            "The needles leave tiny openings that are still healing. Try not to touch or "
            "scratch the treated skin. Fewer fingers on it means fewer germs getting in."
        ),
        starts_after_hours=0,
        ends_after_hours=3 * DAY,
        fact_ids=("H1",),
        order=20,
    ),
    GuidanceItem(
        key="clean-pillowcase",
        kind="do",
        title="Sleep on a fresh pillowcase",
        body_md=(
            "Put a freshly washed pillowcase on your pillow for the first few nights. Your "
            "head rests on it for hours, so a clean one is kinder to healing skin."
        ),
        starts_after_hours=0,
        ends_after_hours=3 * DAY,
        conditions=Conditions(areas=FACE_AND_NECK | SCALP),
        fact_ids=("H5",),
        order=30,
    ),
    GuidanceItem(
        key="head-raised-first-night",
        kind="do",
        title="Sleep with your head a little higher",
        body_md=(
            "On the first night, rest your head a bit higher than usual. One extra pillow is "
            "enough. It helps the swelling go down."
        ),
        starts_after_hours=0,
        ends_after_hours=DAY,
        conditions=Conditions(areas=FACE | EYES),
        fact_ids=("X9",),
        order=35,
    ),
    GuidanceItem(
        key="sun-first-day",
        kind="do",
        title="Stay out of the sun today",
        body_md=(
            "Right now your skin is too tender for sunscreen. You can start it a day after "
            "your treatment. Until then, stay indoors or in the shade, and keep the treated "
            "skin covered if you go out."
        ),
        starts_after_hours=0,
        ends_after_hours=DAY,
        fact_ids=("X7", "C4"),
        order=36,
    ),
    GuidanceItem(
        key="morning-after",
        kind="expect",
        title="It may look redder when you wake up",
        body_md=(
            "It's quite normal for your skin to look redder or puffier on the first morning. "
            "It's simply part of healing, and it may feel sore to the touch for now."
        ),
        starts_after_hours=12,
        ends_after_hours=DAY,
        fact_ids=("H2",),
        order=40,
    ),
    GuidanceItem(
        key="gentle-washing",
        kind="do",
        title="Wash gently with lukewarm water",
        body_md=(
            "Leave out your usual face wash for now. Use lukewarm water and a mild cleanser "
            "with no perfume. Then **pat** dry with a fresh, soft towel. Don't rub."
        ),
        starts_after_hours=12,
        ends_after_hours=2 * DAY,
        conditions=Conditions(areas=FACE | EYES),
        fact_ids=("H2",),
        order=50,
    ),
    GuidanceItem(
        key="day-two-tight-sensitive",
        kind="expect",
        title="Redness fading, skin feeling tight",
        body_md=(
            "About a day after treatment, the redness usually starts to fade. Your skin may"
            " still feel tight and a bit tender."
        ),
        starts_after_hours=DAY,
        ends_after_hours=2 * DAY,
        fact_ids=("H3",),
        order=60,
    ),
    GuidanceItem(
        key="moisturise-and-protect",
        kind="do",
        title="Keep your skin moist and protected",
        body_md=(
            "Moisturise gently and often so your skin doesn't dry out. From now on, you can "
            "use sunscreen. Pick a mineral one, SPF 30 or higher, and put it on every "
            "morning. Do it even on a cloudy day or if you'll mostly be indoors."
        ),
        starts_after_hours=DAY,
        ends_after_hours=2 * DAY,
        conditions=Conditions(areas=SKIN),
        fact_ids=("H3", "X7"),
        order=70,
    ),
    GuidanceItem(
        key="day-three-calmer",
        kind="expect",
        title="Calmer skin",
        body_md=(
            "Two to three days after treatment, most of the redness has usually gone. Any "
            "swelling is small. The repair work below the surface isn't done yet, so keep "
            "being gentle."
        ),
        starts_after_hours=2 * DAY,
        ends_after_hours=3 * DAY,
        fact_ids=("H4",),
        order=80,
    ),
    GuidanceItem(
        key="back-to-gentle-wash",
        kind="do",
        title="Back to a mild face wash",
        body_md=(
            "Now you can go back to a gentle face wash. For dry or flaky spots, a plain serum "
            "with hyaluronic acid can help. Keep strong products on hold for now."
        ),
        starts_after_hours=2 * DAY,
        ends_after_hours=3 * DAY,
        conditions=Conditions(areas=FACE | EYES),
        fact_ids=("H4",),
        order=90,
    ),
)

_TIMELINE: tuple[GuidanceItem, ...] = (
    GuidanceItem(
        key="timeline-day-1",
        kind="expect",
        title="The first 24 hours: the peak",
        body_md=(
            "In the first 24 hours, redness, swelling and soreness are at their worst. It "
            "gets easier from here."
        ),
        starts_after_hours=0,
        ends_after_hours=DAY,
        fact_ids=("P4",),
        order=110,
    ),
    GuidanceItem(
        key="timeline-days-2-3",
        kind="expect",
        title="The next two days: dry and tight",
        body_md=(
            "The redness starts to fade, while your skin may feel dry and tight. Regular, "
            "gentle moisturising helps."
        ),
        starts_after_hours=DAY,
        ends_after_hours=3 * DAY,
        fact_ids=("P4",),
        order=120,
    ),
    GuidanceItem(
        key="timeline-days-4-5",
        kind="expect",
        title="After three days: some flaking",
        body_md=(
            "Light peeling or flaking may begin as fresh skin comes through. It's a normal "
            "part of renewal."
        ),
        starts_after_hours=3 * DAY,
        ends_after_hours=5 * DAY,
        fact_ids=("P4", "P2"),
        order=130,
    ),
    GuidanceItem(
        key="timeline-days-6-7",
        kind="expect",
        title="Near the end of the first week: mostly back to normal",
        body_md=("By now most signs of the treatment have gone. Your skin often looks fresher."),
        starts_after_hours=5 * DAY,
        ends_after_hours=WEEK,
        fact_ids=("P4",),
        order=140,
    ),
    GuidanceItem(
        key="timeline-week-2",
        kind="expect",
        title="After a week: smoother texture",
        body_md=(
            "In the next week, many people find their skin feels smoother. The new collagen"
            " keeps forming below."
        ),
        starts_after_hours=WEEK,
        ends_after_hours=2 * WEEK,
        fact_ids=("P4", "P3"),
        order=150,
    ),
    GuidanceItem(
        key="how-long-redness-lasts",
        kind="expect",
        title="How long redness lasts",
        body_md=(
            "Redness usually settles within 24 to 48 hours. For some people a mild pinkness "
            "hangs on for up to four days, which is still normal."
        ),
        starts_after_hours=0,
        ends_after_hours=4 * DAY,
        fact_ids=("P5",),
        order=160,
    ),
    GuidanceItem(
        key="late-swelling-bruising",
        kind="expect",
        title="Swelling or bruising can show up later",
        body_md=(
            "A day or two after treatment you might notice a bit more swelling, and sometimes "
            "a small bruise. These normally fade on their own within a few days."
        ),
        starts_after_hours=DAY,
        ends_after_hours=5 * DAY,
        fact_ids=("P6",),
        order=170,
    ),
    GuidanceItem(
        key="social-downtime",
        kind="expect",
        title="Planning around it",
        body_md=(
            "Most people look a little red, dry or rough for one to three days. You may want "
            "to keep your diary light for that time."
        ),
        starts_after_hours=0,
        ends_after_hours=3 * DAY,
        fact_ids=("P8",),
        order=180,
    ),
    GuidanceItem(
        key="results-take-time",
        kind="expect",
        title="Changes build up slowly",
        body_md=(
            "New collagen takes time to form. Changes tend to show after about 4 to 6 "
            "weeks. Many people have 3 to 6 sessions, a few weeks apart. Your clinic will "
            "tell you what suits you."
        ),
        starts_after_hours=WEEK,
        ends_after_hours=None,
        fact_ids=("P7", "P3"),
        order=190,
    ),
    GuidanceItem(
        key="concern-treated",
        kind="expect",
        title="Your recovery is your own",
        body_md=(
            "How your skin recovers also depends on what was treated, so your timeline may "
            "not match someone else's. Your clinic can tell you what to expect for your skin."
        ),
        starts_after_hours=0,
        ends_after_hours=WEEK,
        fact_ids=("F8",),
        order=200,
    ),
)

_CARE: tuple[GuidanceItem, ...] = (
    GuidanceItem(
        key="no-picking",
        kind="avoid",
        title="Picking or peeling flakes",
        body_md=(
            "Never pick at or pull off flaking skin, however tempting. Let it come off by "
            "itself, so the new skin below stays safe."
        ),
        starts_after_hours=0,
        ends_after_hours=None,
        fact_ids=("R9",),
        order=300,
    ),
    GuidanceItem(
        key="gentle-cleanser",
        kind="product",
        title="A gentle cleanser",
        body_md=(
            "Choose a mild cleanser that does not foam and has no perfume. Glycerin or "
            "ceramides clean without drying your skin."
        ),
        starts_after_hours=12,
        ends_after_hours=2 * WEEK,
        conditions=Conditions(areas=SKIN),
        fact_ids=("C1",),
        order=320,
    ),
    GuidanceItem(
        key="hydrating-serum",
        kind="product",
        title="Hydration boosters",
        body_md=("A serum with hyaluronic acid helps your skin hold on to water. So can peptides."),
        starts_after_hours=DAY,
        ends_after_hours=2 * WEEK,
        conditions=Conditions(areas=SKIN),
        fact_ids=("C2",),
        order=330,
    ),
    GuidanceItem(
        key="soothing-ingredients",
        kind="product",
        title="Soothing ingredients",
        body_md=(
            "Gels with calming plants can ease redness and soreness. Look for aloe vera, "
            "chamomile or oat."
        ),
        starts_after_hours=0,
        ends_after_hours=WEEK,
        conditions=Conditions(areas=SKIN),
        fact_ids=("C2",),
        order=340,
    ),
    GuidanceItem(
        key="barrier-cream",
        kind="product",
        title="A barrier-friendly cream",
        body_md=(
            "A cream with ceramides helps your skin rebuild its outer layer. Fatty acids "
            "and cholesterol help too."
        ),
        starts_after_hours=DAY,
        ends_after_hours=2 * WEEK,
        conditions=Conditions(areas=SKIN),
        fact_ids=("C2",),
        order=350,
    ),
    GuidanceItem(
        key="eat-drink-sleep",
        kind="do",
        title="Help from the inside",
        body_md=(
            "Drink plenty of water and get good sleep. Meals with enough protein, plus foods "
            "rich in vitamin C and zinc, help support your skin's repair."
        ),
        starts_after_hours=0,
        ends_after_hours=2 * WEEK,
        fact_ids=("C3",),
        order=360,
    ),
    GuidanceItem(
        key="daily-spf",
        kind="do",
        title="Sunscreen every morning",
        body_md=(
            "From a day after treatment, put on sunscreen every morning, whatever the "
            "weather. Choose a mineral one with SPF 30 or higher. The label says zinc oxide"
            " or titanium dioxide. Put more on when you are out. Healing skin marks easily "
            "in the sun."
        ),
        starts_after_hours=DAY,
        ends_after_hours=None,
        conditions=Conditions(areas=SKIN),
        fact_ids=("C4", "R6", "X7"),
        order=370,
    ),
    GuidanceItem(
        key="hat-and-shade",
        kind="do",
        title="Hat and shade",
        body_md=(
            "When you're outside, a wide-brimmed hat and a shady spot protect your skin. "
            "Once you start sunscreen, use them on top of it."
        ),
        starts_after_hours=0,
        ends_after_hours=None,
        conditions=Conditions(areas=FACE_AND_NECK),
        fact_ids=("C4", "X7"),
        order=380,
    ),
    GuidanceItem(
        key="reintroduce-products",
        kind="do",
        title="Bring back your usual products slowly",
        body_md=(
            "Now you can start adding your usual products back, one at a time. Watch how your "
            "skin reacts. Anything still on your 'avoid for now' list, such as retinol, acids "
            "or vitamin C serums, waits until its own date."
        ),
        starts_after_hours=3 * DAY,
        ends_after_hours=3 * WEEK,
        conditions=Conditions(areas=SKIN),
        fact_ids=("C5",),
        order=390,
    ),
    GuidanceItem(
        key="long-term-care",
        kind="do",
        title="Looking after your skin long term",
        body_md=(
            "Keep your skin moist and keep up the daily sunscreen. Take a photo every few "
            "weeks in the same light to see your progress. Your clinic can plan more "
            "sessions with you."
        ),
        starts_after_hours=2 * WEEK,
        ends_after_hours=None,
        conditions=Conditions(areas=SKIN),
        fact_ids=("C6",),
        order=400,
    ),
    GuidanceItem(
        key="breakouts-general",
        kind="expect",
        title="A few spots can appear",
        body_md=(
            "Some people get a few spots while their skin heals. They usually clear more "
            "quickly than everyday acne — try not to squeeze them."
        ),
        starts_after_hours=DAY,
        ends_after_hours=2 * WEEK,
        conditions=Conditions(areas=SKIN),
        fact_ids=("W5",),
        order=410,
    ),
    GuidanceItem(
        key="clean-makeup-brushes",
        kind="do",
        title="Clean your makeup brushes first",
        body_md=(
            "Makeup is fine again now. Before you use your brushes and sponges, wash them, or "
            "use new ones. Old makeup on them holds germs. Start with a mineral makeup."
        ),
        starts_after_hours=0,
        ends_after_hours=4 * DAY,
        after_restriction="makeup",
        conditions=Conditions(areas=FACE | EYES),
        fact_ids=("X8", "R1"),
        order=420,
    ),
    GuidanceItem(
        key="keep-taking-antiviral",
        kind="do",
        title="Keep taking your cold sore medicine",
        body_md=(
            "If you get cold sores, you may have been given a medicine to keep them away. "
            "Keep taking it just as you were told, until it is finished."
        ),
        starts_after_hours=0,
        ends_after_hours=WEEK,
        conditions=Conditions(areas=FACE),
        fact_ids=("X2",),
        order=430,
    ),
    GuidanceItem(
        key="shaving-when-settled",
        kind="do",
        title="Shaving again",
        body_md=(
            "Wait to shave the treated skin until it has calmed down: no more redness, no "
            "raw spots. Then use a clean, sharp blade and go gently."
        ),
        starts_after_hours=2 * DAY,
        ends_after_hours=2 * WEEK,
        conditions=Conditions(areas=FACE | NECK | BODY),
        fact_ids=("X5",),
        order=440,
    ),
)

# Only for treatments that include the scalp: the planner picks items by treated area.
_SCALP: tuple[GuidanceItem, ...] = (
    GuidanceItem(
        key="scalp-no-hair-wash",
        kind="avoid",
        title="Washing your hair today",
        body_md="Leave your hair unwashed for the first 24 hours. Your scalp needs that time.",
        starts_after_hours=0,
        ends_after_hours=DAY,
        conditions=Conditions(areas=SCALP),
        fact_ids=("X12",),
        order=600,
    ),
    GuidanceItem(
        key="scalp-gentle-hair-wash",
        kind="do",
        title="Wash your hair gently",
        body_md=(
            "From the second day, wash your hair with lukewarm water. Use a mild shampoo "
            "without sulfates. Pat your scalp dry with a soft towel, with no rubbing."
        ),
        starts_after_hours=DAY,
        ends_after_hours=WEEK,
        conditions=Conditions(areas=SCALP),
        fact_ids=("X12",),
        order=610,
    ),
    GuidanceItem(
        key="scalp-styling-products",
        kind="avoid",
        title="Hair products and strong chemicals",
        body_md=(
            "For two days, put no gel, spray, mousse or other styling products on your hair. "
            "Keep anything harsh off your scalp too."
        ),
        starts_after_hours=0,
        ends_after_hours=2 * DAY,
        conditions=Conditions(areas=SCALP),
        fact_ids=("X12",),
        order=620,
    ),
    GuidanceItem(
        key="scalp-heat-styling",
        kind="avoid",
        title="Hot hair tools",
        body_md=(
            "Hot hair dryers, straighteners and curling irons can hurt a healing scalp. "
            "Leave them for about a week."
        ),
        starts_after_hours=0,
        ends_after_hours=WEEK,
        conditions=Conditions(areas=SCALP),
        fact_ids=("X12",),
        order=630,
    ),
    GuidanceItem(
        key="scalp-dye-perm-relaxer",
        kind="avoid",
        title="Hair dye, perms and relaxers",
        body_md=(
            "Hair dye, perms and relaxers must wait until your scalp is fully healed. Ask "
            "your clinic before you book one."
        ),
        starts_after_hours=0,
        ends_after_hours=4 * WEEK,
        conditions=Conditions(areas=SCALP),
        fact_ids=("X12",),
        order=640,
    ),
    GuidanceItem(
        key="scalp-hat-in-sun",
        kind="do",
        title="A hat for your scalp",
        body_md="Your scalp can burn too. Keep it in the shade, and wear a hat when you go out.",
        starts_after_hours=0,
        ends_after_hours=3 * WEEK,
        conditions=Conditions(areas=SCALP),
        fact_ids=("X12", "X7"),
        order=650,
    ),
)

# Items of one family of areas: each shows only when that family was treated.
_AREA_FAMILIES: tuple[GuidanceItem, ...] = (
    GuidanceItem(
        key="eyes-puffy-mornings",
        kind="expect",
        title="Puffy eyes in the morning",
        body_md=(
            "The skin around the eyes swells easily. Your eyes may look puffy when you wake "
            "up, and a small bruise there is common. Both fade over a few days."
        ),
        starts_after_hours=0,
        ends_after_hours=5 * DAY,
        conditions=Conditions(areas=EYES),
        fact_ids=("F3", "P6", "H2"),
        order=515,
    ),
    GuidanceItem(
        key="neck-collars",
        kind="avoid",
        title="Tight collars, scarves and necklaces",
        body_md=(
            "Anything that rubs can irritate healing skin. For now, keep your neck and chest "
            "free of tight collars, scarves and jewellery."
        ),
        starts_after_hours=0,
        ends_after_hours=2 * DAY,
        conditions=Conditions(areas=NECK),
        fact_ids=("H1",),
        order=25,
    ),
    GuidanceItem(
        key="body-gentle-washing",
        kind="do",
        title="Wash the treated skin gently",
        body_md=(
            "Wash the treated skin with lukewarm water and a mild wash with no perfume. Pat "
            "it dry with a clean, soft towel. Don't scrub it."
        ),
        starts_after_hours=12,
        ends_after_hours=3 * DAY,
        conditions=Conditions(areas=BODY | NECK),
        fact_ids=("H2", "C1"),
        order=55,
    ),
    GuidanceItem(
        key="body-loose-clothing",
        kind="do",
        title="Loose, clean clothes",
        body_md=(
            "Wear soft, loose clothes over the treated skin, fresh from the wash. Tight "
            "clothes rub, and clean ones carry fewer germs. Change your sheets too."
        ),
        starts_after_hours=0,
        ends_after_hours=3 * DAY,
        conditions=Conditions(areas=BODY),
        fact_ids=("H5", "H1"),
        order=30,
    ),
)

_DEVICES: tuple[GuidanceItem, ...] = (
    GuidanceItem(
        key="rf-extra-warmth",
        kind="expect",
        title="Radiofrequency adds warmth",
        body_md=(
            "Your treatment also used radiofrequency, which warms the deeper skin. Warmth "
            "and swelling can last a little longer than after needling alone. This is "
            "expected. Let the heat settle by itself."
        ),
        starts_after_hours=0,
        ends_after_hours=3 * DAY,
        conditions=Conditions(devices=frozenset({"rf"})),
        fact_ids=("F2", "H1"),
        order=505,
    ),
    GuidanceItem(
        key="roller-tenderness",
        kind="expect",
        title="A roller can leave skin more tender",
        body_md=(
            "A roller's needles go in at a slant as it rolls. Your skin may feel a little "
            "more scratched and tender than after a pen. This settles in a day or two."
        ),
        starts_after_hours=0,
        ends_after_hours=2 * DAY,
        conditions=Conditions(devices=frozenset({"roller"})),
        fact_ids=("F2",),
        order=506,
    ),
)

_PERSONAL: tuple[GuidanceItem, ...] = (
    GuidanceItem(
        key="deeper-treatment",
        kind="expect",
        title="A deeper treatment needs more time",
        body_md=(
            "Your treatment went deeper, so expect more redness and swelling. You may get a"
            " bruise. Give yourself a few extra days to heal."
        ),
        starts_after_hours=0,
        ends_after_hours=WEEK,
        conditions=Conditions(min_depth_mm=Decimal("1.5")),
        fact_ids=("F1",),
        order=500,
    ),
    GuidanceItem(
        key="more-passes",
        kind="expect",
        title="More passes, more recovery time",
        body_md=(
            "Your skin had several passes, so it may take a bit longer than usual to "
            "settle. That is expected. Be patient with it."
        ),
        starts_after_hours=0,
        ends_after_hours=WEEK,
        conditions=Conditions(min_passes=5),
        fact_ids=("F2",),
        order=510,
    ),
    GuidanceItem(
        key="delicate-areas-swelling",
        kind="expect",
        title="Delicate skin swells more",
        body_md=(
            "Some of the skin you had treated is thin and delicate. It can swell a little "
            "more, and a small bruise there is common. Both fade over a few days."
        ),
        starts_after_hours=0,
        ends_after_hours=5 * DAY,
        conditions=Conditions(areas=DELICATE_AREAS - EYES),
        fact_ids=("F3", "P6"),
        order=520,
    ),
    GuidanceItem(
        key="delicate-areas-care",
        kind="do",
        title="Be extra gentle around delicate areas",
        body_md=(
            "Pat rather than rub, and keep your fingers away from this skin. Please don't put "
            "ice on swelling or bruising. If a bruise doesn't fade, contact your clinic."
        ),
        starts_after_hours=0,
        ends_after_hours=WEEK,
        conditions=Conditions(areas=DELICATE_AREAS),
        fact_ids=("F3", "R8", "W4"),
        order=530,
    ),
    GuidanceItem(
        key="darker-skin-sun",
        kind="do",
        title="Sun protection matters even more for you",
        body_md=(
            "With your skin type, healing skin is **more likely to develop dark patches** "
            "after sun. Stay out of the sun for a day after your treatment. Then use a "
            "mineral SPF 30 or higher every day, and put more on outdoors. Keep to the shade "
            "for the whole recovery."
        ),
        starts_after_hours=0,
        ends_after_hours=None,
        conditions=Conditions(skin_types=frozenset({4, 5, 6})),
        fact_ids=("F4", "C4", "R6", "X7"),
        order=540,
    ),
    GuidanceItem(
        key="age-slower-settling",
        kind="expect",
        title="Allow a little extra time",
        body_md=(
            "Younger skin tends to bounce back faster, so yours may need a little longer to "
            "settle. That is normal and nothing to worry about."
        ),
        starts_after_hours=0,
        ends_after_hours=2 * WEEK,
        conditions=Conditions(min_age=50),
        fact_ids=("F5",),
        order=550,
    ),
    GuidanceItem(
        key="slow-healing-history",
        kind="expect",
        title="Healing may take longer",
        body_md=(
            "Some health conditions mean skin needs more time to heal. Give yourself extra "
            "time, and keep your clinic up to date on how your skin is doing."
        ),
        starts_after_hours=0,
        ends_after_hours=2 * WEEK,
        conditions=Conditions(history=frozenset({"slow_healing"})),
        fact_ids=("F6",),
        order=560,
    ),
    GuidanceItem(
        key="summer-skincare",
        kind="product",
        title="Summer: keep it light",
        body_md=(
            "In the warm months, a light moisturiser with no oil suits best. Take extra "
            "care in the sun: sunscreen every morning, and more when you are out."
        ),
        starts_after_hours=DAY,
        ends_after_hours=None,
        conditions=Conditions(seasons=frozenset({"summer"}), areas=SKIN),
        fact_ids=("F7", "C6", "C4"),
        order=570,
    ),
    GuidanceItem(
        key="winter-skincare",
        kind="product",
        title="Winter: a richer moisturiser",
        body_md=(
            "In the cold months, a richer cream can keep your skin comfy while it heals, and after."
        ),
        starts_after_hours=DAY,
        ends_after_hours=None,
        conditions=Conditions(seasons=frozenset({"winter"}), areas=SKIN),
        fact_ids=("F7", "C6"),
        order=580,
    ),
    GuidanceItem(
        key="tropical-skincare",
        kind="product",
        title="Heat and humidity: keep it light",
        body_md=(
            "In hot, humid weather a light gel moisturiser with no oil is enough. Rinse your "
            "skin with lukewarm water now and then, and pat it dry. Stay in the shade in the "
            "hottest hours, and put your sunscreen on again after you rinse."
        ),
        starts_after_hours=DAY,
        ends_after_hours=None,
        conditions=Conditions(seasons=frozenset({"tropical"}), areas=SKIN),
        fact_ids=("F7", "C6", "C4"),
        order=575,
    ),
    GuidanceItem(
        key="sensitive-skin",
        kind="do",
        title="Go slowly with products",
        body_md=(
            "Your skin reacts easily, so bring products back one at a time, a few days "
            "apart. Stop any that sting or make you red, and tell your clinic."
        ),
        starts_after_hours=3 * DAY,
        ends_after_hours=4 * WEEK,
        conditions=Conditions(history=frozenset({"sensitive_skin"}), areas=SKIN),
        fact_ids=("C5", "F6"),
        order=395,
    ),
    GuidanceItem(
        key="breakout-prone",
        kind="avoid",
        title="Squeezing spots",
        body_md=(
            "Your skin tends to break out, so a few spots may come. They tend to clear "
            "faster than normal acne. Don't squeeze them. If they spread or hurt, contact "
            "your clinic."
        ),
        starts_after_hours=DAY,
        ends_after_hours=2 * WEEK,
        conditions=Conditions(history=frozenset({"breakout_prone"})),
        fact_ids=("W5",),
        order=590,
    ),
)

_WARNINGS: tuple[GuidanceItem, ...] = (
    GuidanceItem(
        key="warning-lasting-inflammation",
        kind="warning",
        title="Redness or swelling that isn't settling",
        body_md=(
            "Three days on, redness and swelling should be fading. If they are still strong, "
            "getting worse, or the skin feels hot and very inflamed, **contact your clinic**."
        ),
        starts_after_hours=3 * DAY,
        ends_after_hours=None,
        fact_ids=("W1",),
        order=900,
    ),
    GuidanceItem(
        key="warning-infection",
        kind="warning",
        title="Signs of infection",
        body_md=(
            "Look out for these signs. Redness or warmth that spreads or grows two or three"
            " days after treatment. Red streaks running out from the treated skin. Pus or "
            "yellow crusts. A fever, or very bad pain. If you see any of them, **contact "
            "your clinic** the same day."
        ),
        starts_after_hours=0,
        ends_after_hours=None,
        fact_ids=("W2", "X3"),
        order=910,
    ),
    GuidanceItem(
        key="warning-allergic-reaction",
        kind="warning",
        title="Signs of an allergic reaction",
        body_md=(
            "A rash, itching, hives or swelling that spreads past the treated skin can be "
            "an allergy. **Contact your clinic** straight away. If you also find it hard to"
            " breathe or swallow, call your local emergency number."
        ),
        starts_after_hours=0,
        ends_after_hours=None,
        fact_ids=("W3",),
        order=920,
    ),
    GuidanceItem(
        key="warning-bruising",
        kind="warning",
        title="Bruising that doesn't fade",
        body_md=(
            "A small bruise should get lighter and smaller each day. If a bruise looks "
            "unusual, grows, or is not fading after a week, **contact your clinic**."
        ),
        starts_after_hours=0,
        ends_after_hours=None,
        fact_ids=("W4", "X3"),
        order=930,
    ),
    GuidanceItem(
        key="warning-cold-sores",
        kind="warning",
        title="Cold sore blisters",
        body_md=(
            "If you get cold sores, needling can bring one on. Look for small, painful "
            "blisters in a cluster, often near the lips. If you see them, **contact your "
            "clinic** the same day. Keep taking any cold sore medicine you were given."
        ),
        starts_after_hours=0,
        ends_after_hours=None,
        conditions=Conditions(areas=FACE),
        fact_ids=("X2",),
        order=940,
    ),
    GuidanceItem(
        key="warning-severe-allergy",
        kind="warning",
        title="A severe allergic reaction: call for help now",
        body_md=(
            "Trouble breathing or swallowing. Swelling of the lips, tongue or throat. "
            "Feeling faint. These can be signs of a bad allergic reaction. **Call your "
            "local emergency number at once.** Do not phone the clinic first."
        ),
        starts_after_hours=0,
        ends_after_hours=None,
        fact_ids=("X1", "W3"),
        order=890,
    ),
)

ITEMS: tuple[GuidanceItem, ...] = (
    _FIRST_DAYS + _TIMELINE + _CARE + _AREA_FAMILIES + _DEVICES + _PERSONAL + _SCALP + _WARNINGS
)

# ---------------------------------------------------------------------------
# Restrictions (hours light / moderate / intense)
# ---------------------------------------------------------------------------

RESTRICTIONS: tuple[Restriction, ...] = (
    Restriction(
        key="makeup",
        label="Makeup",
        body_md=(
            "Makeup can sting fresh skin, so leave it off for now. When you start again, "
            "pick a mineral makeup that won't block pores."
        ),
        hours_light=48,
        hours_moderate=48,
        hours_intense=72,
        hours_per_point=6,
        areas=FACE | EYES,
        fact_ids=("R1",),
        order=10,
    ),
    Restriction(
        key="exercise",
        label="Heavy exercise and sweating",
        body_md=(
            "Hard workouts and heavy sweating can add to the swelling and sting your skin. "
            "Take it easy and rest instead."
        ),
        hours_light=24,
        hours_moderate=48,
        hours_intense=72,
        hours_per_point=6,
        fact_ids=("R2",),
        order=20,
    ),
    Restriction(
        key="sun",
        label="Sunbathing and tanning beds",
        body_md=(
            "Keep out of strong sun and away from sunbeds. Healing skin burns easily and "
            "can get dark marks. After this date, keep using SPF 30 or higher every day for"
            " weeks."
        ),
        hours_light=2 * WEEK,
        hours_moderate=2 * WEEK,
        hours_intense=3 * WEEK,
        hours_per_point=12,
        fact_ids=("R6", "C4"),
        order=30,
    ),
    Restriction(
        key="actives",
        label="Retinol, acids and exfoliants",
        body_md=(
            "Retinol and other retinoids are too strong for healing skin. So are AHAs, "
            "BHAs, glycolic acid and scrubs. Use gentle products that add moisture until "
            "then."
        ),
        hours_light=WEEK,
        hours_moderate=2 * WEEK,
        hours_intense=3 * WEEK,
        hours_per_point=24,
        areas=SKIN,
        fact_ids=("R3",),
        order=40,
    ),
    Restriction(
        key="vitamin_c",
        label="Vitamin C serums",
        body_md=(
            "Vitamin C serums can sting skin while it heals. For now, get vitamins C and E "
            "from food instead. They help healing."
        ),
        hours_light=WEEK,
        hours_moderate=WEEK,
        hours_intense=10 * DAY,
        hours_per_point=12,
        areas=SKIN,
        fact_ids=("R4", "C3"),
        order=50,
    ),
    Restriction(
        key="fragrance_alcohol",
        label="Fragranced, dyed or alcohol-based products",
        body_md=(
            "Added fragrance, dyes and alcohol can irritate healing skin. Use simple, "
            "fragrance-free products instead."
        ),
        hours_light=3 * DAY,
        hours_moderate=WEEK,
        hours_intense=WEEK,
        hours_per_point=12,
        areas=SKIN,
        fact_ids=("R5",),
        order=60,
    ),
    Restriction(
        key="anti_inflammatories",
        label="Anti-inflammatory painkillers",
        body_md=(
            "For now, don't take ibuprofen, naproxen or aspirin for pain. The early redness"
            " and swelling are part of healing. For soreness, paracetamol (also called "
            "acetaminophen) is fine if it suits you. If a doctor gave you a medicine, keep "
            "taking it. That includes a daily low-dose aspirin or a blood thinner. Never "
            "stop one without asking your doctor."
        ),
        hours_light=WEEK,
        hours_moderate=WEEK,
        hours_intense=WEEK,
        fact_ids=("R7", "P1", "X11"),
        order=70,
    ),
    Restriction(
        key="ice_arnica_bromelain",
        label="Ice, arnica and bromelain",
        body_md=(
            "Don't put ice on the treated skin, and leave out arnica and bromelain for now. "
            "The early redness and swelling are part of healing, so let them settle by "
            "themselves."
        ),
        hours_light=WEEK,
        hours_moderate=WEEK,
        hours_intense=WEEK,
        fact_ids=("R8", "P1"),
        order=80,
    ),
    Restriction(
        key="hot_water_steam",
        label="Hot showers, saunas, steam rooms and hot yoga",
        body_md=(
            "Heat makes your skin flush and can add to the redness. Have lukewarm showers, "
            "and keep away from saunas, steam rooms and hot yoga for now."
        ),
        hours_light=2 * DAY,
        hours_moderate=2 * DAY,
        hours_intense=3 * DAY,
        hours_per_point=6,
        fact_ids=("X10", "R2"),
        order=90,
    ),
    Restriction(
        key="swimming",
        label="Pools, hot tubs, lakes and the sea",
        body_md=(
            "Pool water has chlorine in it. Hot tubs, lakes and the sea can carry germs. Keep "
            "your treated skin out of all of them until this date."
        ),
        hours_light=4 * DAY,
        hours_moderate=4 * DAY,
        hours_intense=4 * DAY,
        fact_ids=("X4",),
        order=100,
    ),
    Restriction(
        key="hair_removal",
        label="Waxing, threading, hair removal creams and laser hair removal",
        body_md=(
            "These are hard on healing skin, so don't use them on the treated area yet. "
            "Shaving is fine once the skin has calmed down, with a clean blade."
        ),
        hours_light=2 * WEEK,
        hours_moderate=2 * WEEK,
        hours_intense=2 * WEEK,
        areas=SKIN,
        fact_ids=("X5",),
        order=110,
    ),
    Restriction(
        key="other_treatments",
        label="Peels, lasers and other skin treatments",
        body_md=(
            "Wait about two weeks before you have any other treatment on this skin, like a "
            "peel or a laser. If the person who treated you gives you a different date, use"
            " theirs."
        ),
        hours_light=2 * WEEK,
        hours_moderate=2 * WEEK,
        hours_intense=2 * WEEK,
        fact_ids=("X6",),
        order=120,
    ),
)

# ---------------------------------------------------------------------------
# Reminder moments (the email subject line is built elsewhere)
# ---------------------------------------------------------------------------

REMINDERS: tuple[ReminderMoment, ...] = (
    ReminderMoment(
        key="day-0",
        label="Your aftercare starts now",
        summary_md=(
            "What to expect in the first hours. What to skip for a while. A few easy habits"
            " for tonight."
        ),
        offset_days=0,
        fact_ids=("H1", "H5", "R1", "R2"),
    ),
    ReminderMoment(
        key="day-1",
        label="The morning after",
        summary_md="How to wash gently today, and why things may look a bit redder.",
        offset_days=1,
        fact_ids=("H2", "P4"),
    ),
    ReminderMoment(
        key="day-2-check",
        label="Checking in on day 2",
        summary_md=(
            "An extra check after a stronger treatment. What is normal today, and how to "
            "feel better."
        ),
        offset_days=2,
        min_intensity=3,
        fact_ids=("P6", "F1", "P8"),
    ),
    ReminderMoment(
        key="day-3",
        label="Three days in",
        summary_md=(
            "The first three days are behind you. A quick look at how your skin should be "
            "doing now, and when to get in touch."
        ),
        offset_days=3,
        fact_ids=("W1", "H4", "C5"),
    ),
    ReminderMoment(
        key="day-6",
        label="The rebuilding days",
        summary_md="Why your skin may flake this week, and how to let it do its thing.",
        offset_days=6,
        fact_ids=("P2", "P4", "R9"),
    ),
    ReminderMoment(
        key="day-14",
        label="Two weeks on",
        summary_md=(
            "Some of the things on hold may be allowed again, plus why sunscreen stays part of "
            "your routine."
        ),
        offset_days=14,
        fact_ids=("R6", "C4", "P4"),
    ),
    ReminderMoment(
        key="rebooking",
        label="Time to think about your next session",
        summary_md=("When changes tend to show, and how a course of sessions is usually spaced."),
        offset_days=28,
        fact_ids=("P7", "P3"),
    ),
    ReminderMoment(
        key="long-term",
        label="Looking after your skin long term",
        summary_md="Simple habits for the months ahead, and an easy way to track your progress.",
        offset_days=90,
        fact_ids=("C6", "P3"),
    ),
)

# ---------------------------------------------------------------------------
# Intensity table (tunable defaults, see the module docstring)
# ---------------------------------------------------------------------------

INTENSITY_FACTORS: tuple[IntensityFactor, ...] = (
    IntensityFactor(factor="depth", threshold=Decimal("0.1"), points=0),
    IntensityFactor(factor="depth", threshold=Decimal("0.5"), points=1),
    IntensityFactor(factor="depth", threshold=Decimal("1.0"), points=2),
    IntensityFactor(factor="depth", threshold=Decimal("1.5"), points=3),
    IntensityFactor(factor="depth", threshold=Decimal("2.0"), points=4),
    IntensityFactor(factor="depth", threshold=Decimal("2.5"), points=5),
    IntensityFactor(factor="passes", threshold=Decimal(1), points=0),
    IntensityFactor(factor="passes", threshold=Decimal(3), points=1),
    IntensityFactor(factor="passes", threshold=Decimal(5), points=2),
    IntensityFactor(factor="passes", threshold=Decimal(8), points=3),
    IntensityFactor(factor="passes", threshold=Decimal(10), points=4),
    IntensityFactor(factor="area_count", threshold=Decimal(2), points=1),
    IntensityFactor(factor="area_count", threshold=Decimal(4), points=2),
    IntensityFactor(factor="area_count", threshold=Decimal(6), points=3),
    IntensityFactor(factor="area", value="body", points=1),
    IntensityFactor(factor="area", value="decolletage", points=1),
    # Radiofrequency microneedling adds heat on top of the needling.
    IntensityFactor(factor="device", value="rf", points=2),
    # A roller's needles go in at a slant: more surface tearing than a pen's.
    IntensityFactor(factor="device", value="roller", points=1),
    # F6: some health conditions need more healing time; sensitive skin reacts longer.
    IntensityFactor(factor="history", value="slow_healing", points=2),
    IntensityFactor(factor="history", value="sensitive_skin", points=1),
)

INTENSITY_LEVELS: tuple[IntensityLevel, ...] = (
    IntensityLevel(rank=1, label="Light", min_score=0, downtime_hours=DAY),
    IntensityLevel(rank=2, label="Moderate", min_score=3, downtime_hours=2 * DAY),
    IntensityLevel(rank=3, label="Intense", min_score=6, downtime_hours=3 * DAY),
)

DEFAULT_GUIDANCE: Guidance = Guidance(
    phases=PHASES,
    items=ITEMS,
    restrictions=RESTRICTIONS,
    reminders=REMINDERS,
    intensity_factors=INTENSITY_FACTORS,
    intensity_levels=INTENSITY_LEVELS,
)
