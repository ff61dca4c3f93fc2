"""piiq: keep personal data out of Slack."""

__version__ = "0.1.0"
