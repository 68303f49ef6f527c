"""Settings for bench/patient_page.py: the project's own, plus a bare "ok" view.

Everything else (middleware, sessions, templates, DATABASE_URL, SECRET_KEY) is
exactly what the project runs with, read from the same environment.

With BENCH_MARKDOWN_UNCACHED=1 the server renders every Markdown text on every
request: render_markdown (aftercare/guidance/markdown.py) memoises its output in an
lru_cache, the one cache between requests left on the Today page's path, and the
benchmark measures the page with and without it. Settings are read before any
template library is loaded, so the `markdown` filter picks up the unwrapped function.
"""

import os

from clinic.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"

if os.environ.get("BENCH_MARKDOWN_UNCACHED") == "1":
    from aftercare.guidance import markdown as _markdown

    _markdown.render_markdown = _markdown.render_markdown.__wrapped__
