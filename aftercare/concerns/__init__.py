"""Patients' "something not right?" reports.

`services` stores a report (and its cleaned photo) and queues the clinic's alert;
`alerts` writes that alert email and `tasks` sends it; `forms` are the patient's and
staff's forms. The staff pages that list and handle reports are in aftercare.plans.views.
"""
