FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY clinic ./clinic
COPY patients ./patients
COPY aftercare ./aftercare
RUN pip install .

COPY . .
RUN useradd --create-home --uid 10001 app \
    && mkdir -p /app/var /app/staticfiles \
    && SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && chown -R app:app /app/var /app/staticfiles
USER app

EXPOSE 8000
CMD ["gunicorn", "clinic.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
