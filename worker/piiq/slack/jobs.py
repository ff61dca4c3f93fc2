"""The Slack jobs' shape, shared by the ingress (which must not import the scanning code,
Presidio being heavy) and the workers that run them."""

from __future__ import annotations

from typing import Any

from ..queue import Job, Unique

MESSAGE_WORKER = "piiq.slack.workers.SlackMessageWorker"
MESSAGE_QUEUE = "events"
FILE_QUEUE = "pii_detection"
MAX_ATTEMPTS = 3
# Args that hold what people wrote: scrubbed from the job once it is finished.
MESSAGE_SENSITIVE_ARGS = ("text", "attachments", "blocks", "files")
FILE_SENSITIVE_ARGS = ("file",)


def message_job(args: dict[str, Any]) -> Job:
    """The job for one message event; its unique key is the event's id."""
    return Job(
        worker=MESSAGE_WORKER,
        queue=MESSAGE_QUEUE,
        max_attempts=MAX_ATTEMPTS,
        args=args,
        meta={"scrub": list(MESSAGE_SENSITIVE_ARGS)},
        unique=Unique(key=f"slack-event:{args['team']}:{args['event_id']}"),
    ).validate()
