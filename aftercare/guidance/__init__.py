"""Each clinic's guidance: the rows clinic admins edit, turned into planner values.

`rows` converts rows to and from the planner's values and fingerprints them; `clinic`
installs, compares, resets and offers updates of a clinic's copy of the shipped
default; `forms` are the admin's forms; `markdown` renders admin-written Markdown
safely (markdown-it + nh3).
"""
