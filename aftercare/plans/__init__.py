"""Plans as staff make and see them.

`services` creates, revises and adjusts plans (and starts courses) from a treatment;
`visits` reads a patient's visits, revisions and courses; `display` and `calendar`
shape a plan for pages and `.ics` files; `today` gathers staff Today; `views`,
`adjust_views`, `adjust_forms`, `urls` and `today_urls` are the staff pages.
"""
