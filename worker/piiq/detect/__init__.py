"""PII detection: Presidio with a deletion policy, Slack markup cleanup, file text, redaction.

detector = Detector.from_settings()
result = detector.scan([Source("text", message_text)])
result.decision.action   # "delete", "warn" or "allow", with reasons (types, counts, scores)
detector.redact(message_text, result.findings_for("text"))
"""

from .detector import Detector, ScanResult, Source
from .findings import Decision, Finding, Reason
from .policy import Policy, PolicyError

__all__ = [
    "Decision",
    "Detector",
    "Finding",
    "Policy",
    "PolicyError",
    "Reason",
    "ScanResult",
    "Source",
]
