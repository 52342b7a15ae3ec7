# Two commands: `make demo` (embedded: SQLite, tasks inline) and `make test` (PostgreSQL + Redis).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/certification
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	DJANGO_SECRET_KEY=test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz DJANGO_DEBUG=0 STATIC_COMPRESS=0 DB_CONN_MAX_AGE=0 \
	SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 \
	DJANGO_ALLOWED_HOSTS=testserver,localhost,127.0.0.1 \
	DJANGO_PASSWORD_HASHERS=django.contrib.auth.hashers.MD5PasswordHasher \
	API_THROTTLE_ANON=100000/min API_THROTTLE_USER=100000/min API_THROTTLE_KEY=100000/min

.PHONY: demo test install messages messages-update lint check-deploy system-deps worker beat clean schema

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed messages

# French and Dutch page texts: locale/<lang>/LC_MESSAGES/django.po is the source (committed), the .mo next to it
# is build output (ignored by git). compilemessages needs GNU gettext's msgfmt (`make system-deps`); without it
# the pages show in English and the demo still runs. compilemessages skips catalogues already up to date.
MESSAGES_IGNORE := --ignore=.venv --ignore=staticfiles --ignore=media --ignore=node_modules --ignore=tests \
	--ignore=benchmarks --ignore=test-artifacts --ignore=build
messages: $(VENV)/.installed
	@if command -v msgfmt >/dev/null 2>&1; then \
		DJANGO_DEBUG=1 $(PY) manage.py compilemessages $(MESSAGES_IGNORE) -v0; \
	else \
		echo "NOTE: msgfmt (GNU gettext) is not installed, so the French and Dutch catalogues are not compiled: pages show in English only ('make system-deps' installs it)."; \
	fi

# After adding or changing marked strings: refresh the catalogues, translate the new entries, then `make messages`.
messages-update: $(VENV)/.installed
	DJANGO_DEBUG=1 $(PY) manage.py makemessages -l fr -l nl $(MESSAGES_IGNORE)

# With DATABASE_URL/REDIS_URL set, the demo uses them and starts a real Celery worker and beat.
demo: install
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py load_demo
	@if [ -n "$$REDIS_URL" ]; then \
		echo "Starting Celery worker and beat on $$REDIS_URL"; \
		DJANGO_DEBUG=1 $(VENV)/bin/celery -A certification worker --loglevel=INFO & \
		DJANGO_DEBUG=1 $(VENV)/bin/celery -A certification beat --loglevel=INFO --schedule=/tmp/celerybeat-schedule & \
	fi; \
	echo "Serving on http://127.0.0.1:$(PORT)"; \
	DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

# Regenerate the committed OpenAPI schema (tests/test_api_schema.py fails when it drifts from the code).
# Generated against PostgreSQL, as in production: integer bounds in the schema follow the database backend.
schema: install
	$(TEST_ENV) $(PY) manage.py spectacular --validate --file docs/openapi.yaml

# `check --deploy` with production-like settings (DEBUG off, secure cookies, HSTS, SSL redirect).
check-deploy: install
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) DJANGO_ALLOWED_HOSTS=certification.example \
		$(PY) manage.py check --deploy --fail-level WARNING

# Debian packages the app and its tests use (run as root): browser tests, fast WeasyPrint, PDF text,
# gettext (msgfmt) to compile the French and Dutch catalogues.
system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libharfbuzz-subset0 fonts-dejavu-core poppler-utils docker-compose gettext

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
