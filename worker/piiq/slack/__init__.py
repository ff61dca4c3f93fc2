"""Slack: the Events API ingress, the workers that scan and act, and a local sandbox.

Events come in (``piiq ingress``), each message becomes one job (``SlackMessageWorker``
on the ``events`` queue, files on ``pii_detection``), and a worker scans it, deletes what
the policy says to delete, DMs the author a redacted copy and writes an audit row.
"""
