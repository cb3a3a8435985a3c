# The back-office image: web (gunicorn), Celery worker, beat and the sandbox all run from it;
# docker-compose.yml says which command each container runs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/static

WORKDIR /app
RUN useradd --create-home --uid 10001 backoffice

# Dependencies first: this layer is rebuilt only when requirements.txt changes. The lock pins the
# whole closure with hashes: pip installs exactly it, or fails the build.
COPY requirements.txt .
RUN pip install --require-hashes -r requirements.txt && pip check

COPY . .
# collectstatic reads the settings but no secret and no database: a throwaway key for this step only.
RUN SECRET_KEY=collectstatic-only-not-a-secret DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
        python manage.py collectstatic --noinput \
    && rm -rf /app/var /tmp/collectstatic.sqlite3

USER backoffice
EXPOSE 8000
CMD ["gunicorn", "backoffice.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
