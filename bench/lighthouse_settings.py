"""Settings for bench/lighthouse.py: the project's own, in production form, with the
static files collected into a folder of the benchmark's own (BENCH_STATIC_ROOT), so a
run never writes into the project's `staticfiles/`.

Everything else (middleware, CSP, sessions, templates, WhiteNoise with content-hashed,
compressed static files) is what production runs, read from the same environment.
"""

import os

from clinic.settings import *  # noqa: F403

STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
