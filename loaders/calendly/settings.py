"""Calendly endpoints, page sizes, sync windows and column hints."""

from typing import Any

DEFAULT_BASE_URL = "https://api.calendly.com"
PAGE_SIZE = 100  # the largest `count` Calendly's list endpoints accept
# Invitee requests in flight at once: Calendly lists invitees per event only, so a sync of many events
# would otherwise wait one round trip per event.
CONCURRENCY = 4
# First sync: events that started up to this many days ago (and every future one).
INITIAL_DAYS = 365
# A host marks a no-show after the call, and marking one changes the invitee, not the scheduled event, so
# nothing in the event list says it happened. Each sync re-reads the invitees of calls that ended within
# this many days before the previous sync (and since), which is when hosts mark no-shows.
NO_SHOW_WINDOW_DAYS = 3
# Calendly cannot filter events by update time, only by start time. Events that can still change are the
# future ones and those that ended within the no-show window; this margin covers the longest event.
LONGEST_EVENT_DAYS = 1

ME_PATH = "/users/me"
EVENTS_PATH = "/scheduled_events"
INVITEES_PATH = "/scheduled_events/{uuid}/invitees"

EVENT_TIMESTAMPS = ("start_time", "end_time", "created_at", "updated_at")
INVITEE_TIMESTAMPS = ("created_at", "updated_at")


def _cols(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "data_type": data_type} for name, data_type in types.items()}


EVENT_COLUMNS = _cols(
    uri="text",
    name="text",
    status="text",
    start_time="timestamp",
    end_time="timestamp",
    event_type="text",
    location__type="text",
    invitees_counter__total="bigint",
    invitees_counter__active="bigint",
    invitees_counter__limit="bigint",
    created_at="timestamp",
    updated_at="timestamp",
    cancellation__canceled_by="text",
    cancellation__reason="text",
    cancellation__canceler_type="text",
    cancellation__created_at="timestamp",
)
EVENT_NESTED_HINTS = {
    ("event_memberships",): {"columns": _cols(user="text", user_email="text", user_name="text")}
}
INVITEE_COLUMNS = _cols(
    uri="text",
    event="text",
    email="text",
    name="text",
    first_name="text",
    last_name="text",
    status="text",
    timezone="text",
    created_at="timestamp",
    updated_at="timestamp",
    rescheduled="bool",
    old_invitee="text",
    new_invitee="text",
    no_show__uri="text",
    no_show__created_at="timestamp",
    cancellation__canceled_by="text",
    cancellation__reason="text",
    cancellation__canceler_type="text",
    cancellation__created_at="timestamp",
)
