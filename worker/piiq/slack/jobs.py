"""The Slack jobs' shape, shared by the ingress (which must not import the scanning code,
Presidio being heavy) and the workers that run them."""

from __future__ import annotations

from typing import Any

from ..queue import Job, Unique
from ..runtime.argscrypt import SEALED, ArgsKeys

MESSAGE_WORKER = "piiq.slack.workers.SlackMessageWorker"
MESSAGE_QUEUE = "events"
FILE_QUEUE = "pii_detection"
MAX_ATTEMPTS = 3
# Args that hold what people wrote: encrypted in the job when PIIQ_ARGS_KEYS is set ...
MESSAGE_SEALED_ARGS = ("text", "attachments", "blocks", "files")
FILE_SEALED_ARGS = ("file",)
# ... and scrubbed from the job once it is finished, in either form.
MESSAGE_SENSITIVE_ARGS = (*MESSAGE_SEALED_ARGS, SEALED)
FILE_SENSITIVE_ARGS = (*FILE_SEALED_ARGS, SEALED)
# Enterprise Grid: the org and whether the app is installed org-wide, as the event said
# (only when there is an org); with ``team`` they say which installation's tokens to use.
WORKSPACE_ARGS = ("enterprise", "enterprise_install")


def message_job(args: dict[str, Any], keys: ArgsKeys | None = None) -> Job:
    """The job for one message event; its unique key is the event's id. With ``keys`` the
    message's content is sealed (see ``piiq.runtime.argscrypt``)."""
    key = f"slack-event:{args['team']}:{args['event_id']}"
    return sealed_job(MESSAGE_WORKER, args, keys, MESSAGE_SEALED_ARGS, key)


def sealed_job(
    worker: str, args: dict[str, Any], keys: ArgsKeys | None, sealed: tuple[str, ...], key: str
) -> Job:
    """A job on the events queue whose ``sealed`` args (what people wrote) are encrypted
    with ``keys`` (when set) and scrubbed once it is finished; unique by ``key``."""
    return Job(
        worker=worker,
        queue=MESSAGE_QUEUE,
        max_attempts=MAX_ATTEMPTS,
        args=keys.seal(args, sealed) if keys else args,
        meta={"scrub": [*sealed, SEALED]},
        unique=Unique(key=key),
    ).validate()
