FROM python:3.11-slim-bookworm
# libharfbuzz-subset0: WeasyPrint is ~5x slower without it. Pango for text layout, DejaVu fonts.
# gettext: msgfmt compiles the French and Dutch catalogues (locale/*.po) at build time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    fonts-dejavu-core postgresql-client gettext \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY certification certification
COPY marks marks
COPY licences licences
COPY inspections inspections
COPY sampling sampling
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_DEBUG=1 python manage.py collectstatic --noinput \
 && DJANGO_DEBUG=1 python manage.py compilemessages --ignore=.venv --ignore=staticfiles --ignore=media --ignore=node_modules --ignore=tests -v0
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["gunicorn", "certification.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
