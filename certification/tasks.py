from celery import shared_task
from django.core.management import call_command


@shared_task
def clear_expired_sessions():
    call_command("clearsessions")


@shared_task
def ping(value):
    """Wiring check used by the worker test: proves a real worker consumed the broker's message."""
    return {"pong": value}
