"""A real Celery worker consumes from Redis: the wiring the production stack depends on."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from certification.celery import app
from certification.tasks import ping


@pytest.mark.worker
def test_real_worker_round_trip_through_redis():
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "make test runs against Redis"
    assert not app.conf.task_always_eager
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = ping.delay(42)
        assert result.get(timeout=20) == {"pong": 42}


def test_beat_schedule_names_real_tasks():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
