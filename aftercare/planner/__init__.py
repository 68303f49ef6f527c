"""The pure planner: treatment facts and guidance in, a plan out.

`inputs` holds the plain values it reads; `planning` builds the plan (intensity, phases,
day-by-day entries, restriction ends, warning signs, reminder schedule) and serialises
it; `seasons`, `combining` (one plan for a visit's treatments), `adjustments` (a
practitioner's changes), `courses` (session numbers and windows) and `default_guidance`
(the shipped content, each item naming its fact ids) complete it. Nothing here imports
Django or the database: import-linter's contracts in pyproject.toml check it.
"""
