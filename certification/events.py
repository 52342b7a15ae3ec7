"""Domain events: services announce what happened; subscribers (webhooks, notifications) react.

``publish`` is called by a service inside its transaction, so a subscriber that writes rows (an outbox
of webhook deliveries, say) commits or rolls back with the change itself. Subscribers register in their
app's ``AppConfig.ready()``.
"""

from dataclasses import dataclass, field

_subscribers = []


@dataclass(frozen=True)
class Event:
    type: str  # e.g. "certificate.status_changed", "licence.suspended"
    body_id: int
    subject: str  # a stable public reference, e.g. a certificate number
    payload: dict = field(default_factory=dict)


def subscribe(handler):
    if handler not in _subscribers:
        _subscribers.append(handler)
    return handler


def publish(event_type, *, body, subject, payload=None):
    event = Event(type=event_type, body_id=getattr(body, "pk", body), subject=str(subject), payload=payload or {})
    for handler in list(_subscribers):
        handler(event)
    return event
