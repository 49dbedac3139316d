"""The event log: typed events, written with the change they describe, read by anyone.

* ``model`` — :class:`DomainEvent` (what capabilities declare in their ``events.py``),
  :class:`Event` (a stored event as readers see it) and :func:`decode` between them.
* ``log`` — :func:`record_event` inside a unit of work; :func:`read_events` from a cursor,
  in log order, behind PostgreSQL's visibility horizon.
* ``feed`` — this process's watcher: live readers hear of commits from every process.
* ``consumers`` — durable handlers with a stored cursor, run by workers.

docs/events.md is the contract for users of the log.
"""

from orchestrate.core.events.consumers import (
    BatchHandler,
    Consumer,
    ConsumerStatus,
    EventHandler,
    consumer_statuses,
    forget_consumer,
    retention_floor,
    run_consumers,
    slowest_consumer_cursor,
)
from orchestrate.core.events.feed import EventFeed
from orchestrate.core.events.log import (
    EventFilter,
    count_events,
    count_events_by_hour,
    last_event_id,
    read_events,
    read_recent,
    record_event,
)
from orchestrate.core.events.model import DomainEvent, Event, declared_types, decode
from orchestrate.core.events.tables import EventConsumerRow, EventRow

__all__ = [
    "BatchHandler",
    "Consumer",
    "ConsumerStatus",
    "DomainEvent",
    "Event",
    "EventConsumerRow",
    "EventFeed",
    "EventFilter",
    "EventHandler",
    "EventRow",
    "consumer_statuses",
    "count_events",
    "count_events_by_hour",
    "declared_types",
    "decode",
    "forget_consumer",
    "last_event_id",
    "read_events",
    "read_recent",
    "record_event",
    "retention_floor",
    "run_consumers",
    "slowest_consumer_cursor",
]
