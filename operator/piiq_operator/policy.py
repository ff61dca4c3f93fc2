"""What the operator's installer allows every PIIQueue: image repositories, the Slack API URL.

Whoever may edit a PIIQueue runs its image with its Secrets (the database URL, the Slack
tokens), so the image is not the PIIQueue's alone to choose: the chart passes
``operator.allowedImageRepositories`` (default: the chart's own image repository) as
``--allowed-image-repository`` flags, and a PIIQueue naming another image is refused with a
Degraded condition. Where the tokens go (``PIIQ_SLACK_API_URL``) is an operator setting
too (``--slack-api-url``), never a PIIQueue's.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

ANY_IMAGE = "*"
_DIGEST = re.compile(r"@[A-Za-z0-9_+.-]+:[0-9a-fA-F]+$")
# A path component of an image reference (the distribution spec's grammar): no '..' tricks.
_COMPONENT = re.compile(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$")


@dataclass(frozen=True)
class Policy:
    # An entry is a repository (``ghcr.io/acme/piiq``: any tag or digest of it), a prefix
    # ending in ``/*`` (``registry.acme/piiq/*``: every repository under it), or ``*``
    # (any image: only for clusters where PIIQueue editors are trusted with every Secret
    # of their namespace). Empty: no image is allowed.
    allowed_image_repositories: tuple[str, ...] = ()
    slack_api_url: str | None = None  # None: the image's default (https://slack.com/api/)


def image_repository(image: str) -> str:
    """``ghcr.io/x/piiq:0.1`` and ``ghcr.io/x/piiq@sha256:...`` -> ``ghcr.io/x/piiq``."""
    bare = _DIGEST.sub("", image)
    last = bare.rsplit("/", 1)[-1]
    if ":" in last:  # a tag (a ':' before the last '/' is a registry's port)
        bare = bare[: len(bare) - len(last)] + last.split(":", 1)[0]
    return bare


def image_allowed(image: str, allowed: tuple[str, ...]) -> bool:
    repository = image_repository(image)
    if ANY_IMAGE not in allowed and not all(
        _COMPONENT.match(part) for part in repository.split("/")[1:]
    ):
        return False
    for entry in allowed:
        if entry in (ANY_IMAGE, repository):
            return True
        if entry.endswith("/*") and repository.startswith(entry[:-1]):
            return True
    return False


def image_refusal(image: str, allowed: tuple[str, ...]) -> str | None:
    """None when ``image`` may run, else one line naming it and what is allowed."""
    if image_allowed(image, allowed):
        return None
    if not allowed:
        return (
            f"spec.image {image!r} is refused: this operator allows no image repositories; "
            "its installer sets them (chart value operator.allowedImageRepositories, flag "
            "--allowed-image-repository)"
        )
    return (
        f"spec.image {image!r} is refused: repository {image_repository(image)!r} is not "
        f"among the repositories this operator allows ({', '.join(allowed)}); use one of "
        "them or ask the operator's installer to add it (chart value "
        "operator.allowedImageRepositories)"
    )


def check_repository_entry(entry: str) -> str | None:
    """A problem with one ``--allowed-image-repository`` value, or None."""
    if entry == ANY_IMAGE:
        return None
    if not entry or entry != entry.strip() or "@" in entry:
        return f"allowed image repository {entry!r} is not a repository: use e.g. ghcr.io/x/piiq"
    if image_repository(entry.removesuffix("/*")) != entry.removesuffix("/*"):
        return (
            f"allowed image repository {entry!r} has a tag: give the repository only "
            "(every tag of it is allowed), e.g. ghcr.io/x/piiq"
        )
    return None


def check_slack_api_url(url: str) -> str | None:
    """A problem with ``--slack-api-url``, or None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not url.endswith("/"):
        return (
            f"Slack API URL {url!r} is not usable: give an http(s) URL ending in '/', "
            "e.g. https://slack.com/api/"
        )
    return None
