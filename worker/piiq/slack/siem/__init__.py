"""Audit rows out to a SIEM as they are written: a signed webhook and Splunk HEC.

Writing an audit row queues one delivery job per configured sink in the same transaction
(``outbox``); ``AuditDeliveryWorker`` (queue ``audit``) POSTs the row, retries with
backoff while the sink is down, and after its last attempt keeps the event as a dead
letter that ``piiq audit replay`` queues again (``deadletters``). ``piiq audit export``
streams rows as JSON lines or CSV (``export``). Events carry the audit row's columns only:
never message text, never matched values.
"""
