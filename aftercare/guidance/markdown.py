"""Admin-written Markdown to HTML that is safe on a patient's page or in an email.

markdown-it's "js-default" preset leaves raw HTML out and refuses javascript:
links; nh3 then keeps only an allow-list of tags and attributes, so an admin's
<script> or onerror= never reaches a patient, whatever the parser lets through.
"""

from __future__ import annotations

from functools import cache, lru_cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h3", "h4", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_URL_SCHEMES = {"https", "http", "mailto", "tel"}


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("js-default")


@lru_cache(maxsize=4096)
def render_markdown(text: str) -> SafeString:
    """Cached: the same guidance text is shown on many pages and in many emails."""
    html = _parser().render(text or "")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308  # nosec B308, B703  # sanitised by nh3 just above
