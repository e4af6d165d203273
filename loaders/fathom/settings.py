"""Fathom endpoints, sync windows and column hints."""

from typing import Any

DEFAULT_BASE_URL = "https://api.fathom.ai"
MEETINGS_PATH = "/external/v1/meetings"
# The first sync reads meetings created up to this many days ago.
INITIAL_DAYS = 365
# Each sync reads again the meetings created in the last recheck_days (action items are ticked off in the
# days after a call) and overlaps the previous cursor by OVERLAP_SECONDS (meetings are listed when their
# recording is processed, which can trail created_at slightly).
RECHECK_DAYS = 14
OVERLAP_SECONDS = 3_600
# Transcripts are large: loaded only when `transcripts = true`.
TRANSCRIPTS = False


def _cols(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "data_type": data_type} for name, data_type in types.items()}


MEETING_COLUMNS = _cols(
    recording_id="bigint",
    title="text",
    created_at="timestamp",
    scheduled_start_time="timestamp",
    recording_start_time="timestamp",
    recording_end_time="timestamp",
    recorded_by__email="text",
    default_summary__markdown_formatted="text",
)
MEETING_NESTED_HINTS = {
    ("calendar_invitees",): {"columns": _cols(name="text", email="text", is_external="bool")},
    ("action_items",): {
        "columns": _cols(description="text", completed="bool", assignee__email="text", assignee__name="text")
    },
    ("transcript",): {
        "columns": _cols(text="text", timestamp="text", speaker__matched_calendar_invitee_email="text")
    },
}
MEETING_TIMESTAMPS = ("created_at", "scheduled_start_time", "recording_start_time", "recording_end_time")
