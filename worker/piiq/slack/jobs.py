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


def message_job(args: dict[str, Any], keys: ArgsKeys | None = None, *, priority: int = 0) -> Job:
    """The job for one message, unique per message (workspace, channel, ts): Slack's
    retries of its event, the ingress replicas, and a history scan that finds it make one
    job. An edit is a new version of the message: unique per edit event instead. With
    ``keys`` the message's content is sealed (see ``piiq.runtime.argscrypt``)."""
    if args.get("edited"):
        key = f"slack-event:{args['team']}:{args['event_id']}"
    else:
        key = f"slack-message:{args['team']}:{args['channel']}:{args['ts']}"
    return sealed_job(MESSAGE_WORKER, args, keys, MESSAGE_SEALED_ARGS, key, priority=priority)


def sealed_job(
    worker: str,
    args: dict[str, Any],
    keys: ArgsKeys | None,
    sealed: tuple[str, ...],
    key: str,
    *,
    priority: int = 0,
) -> Job:
    """A job on the events queue whose ``sealed`` args (what people wrote) are encrypted
    with ``keys`` (when set) and scrubbed once it is finished; unique by ``key``."""
    return Job(
        worker=worker,
        queue=MESSAGE_QUEUE,
        priority=priority,
        max_attempts=MAX_ATTEMPTS,
        args=keys.seal(args, sealed) if keys else args,
        meta={"scrub": [*sealed, SEALED]},
        unique=Unique(key=key),
    ).validate()
