"""Settings for bench/patient_page.py: the project's own, plus a bare "ok" view.

Everything else (middleware, sessions, templates, DATABASE_URL, SECRET_KEY) is
exactly what the project runs with, read from the same environment.
"""

from clinic.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
