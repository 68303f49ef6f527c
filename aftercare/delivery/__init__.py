"""Reminder emails, from schedule to inbox and back.

`reminders` turns a plan's schedule into rows and stops or resumes them; `queue` asks a
worker to send now; `dispatch` claims due rows and sends them (consent re-checked before
each message, the sent mark committed before the next); `transports` wraps the email
backend (SMTP or a provider's API through django-anymail); `emails` renders a message;
`provider_reports`, `webhook_urls` and `receivers` take in the provider's delivery
reports (bounces, complaints); `tasks` are its Celery tasks. The links put in each
email are aftercare.links, shared with the patient pages.
"""
