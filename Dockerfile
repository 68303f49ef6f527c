# The app image: web (gunicorn), Celery worker and beat all run it (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY clinic ./clinic
COPY patients ./patients
COPY aftercare ./aftercare
RUN pip install .

COPY . .
# Static files get content-hashed names (WhiteNoise's manifest storage), so collectstatic
# runs with production settings; the key exists only for this step.
RUN useradd --create-home --uid 10001 app \
    && mkdir -p /app/var/private-media /app/staticfiles \
    && ENVIRONMENT=production DEBUG=false \
       SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
       python manage.py collectstatic --noinput \
    && chown -R app:app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "clinic.wsgi:application", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "--workers", "3"]
