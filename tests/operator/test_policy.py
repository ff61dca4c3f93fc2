"""The installer's policy: which images PIIQueues may run, and the Slack API URL."""

from __future__ import annotations

import pytest

from piiq_operator.policy import (
    check_repository_entry,
    check_slack_api_url,
    image_allowed,
    image_refusal,
    image_repository,
)


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("ghcr.io/acme/piiq:0.1.0", "ghcr.io/acme/piiq"),
        ("ghcr.io/acme/piiq", "ghcr.io/acme/piiq"),
        ("ghcr.io/acme/piiq@sha256:" + "a" * 64, "ghcr.io/acme/piiq"),
        ("ghcr.io/acme/piiq:0.1@sha256:" + "b" * 64, "ghcr.io/acme/piiq"),
        ("registry:5000/piiq:1", "registry:5000/piiq"),
        ("registry:5000/piiq", "registry:5000/piiq"),
        ("localhost/piiq:0.1.0", "localhost/piiq"),
    ],
)
def test_image_repository(image: str, repository: str) -> None:
    assert image_repository(image) == repository


@pytest.mark.parametrize(
    ("image", "allowed", "ok"),
    [
        ("ghcr.io/acme/piiq:0.1.0", ("ghcr.io/acme/piiq",), True),
        ("ghcr.io/acme/piiq-evil:0.1.0", ("ghcr.io/acme/piiq",), False),  # not a prefix match
        ("ghcr.io/acme/piiq/../evil:1", ("ghcr.io/acme/piiq",), False),
        ("evil.io/ghcr.io/acme/piiq:1", ("ghcr.io/acme/piiq",), False),
        ("registry.acme/piiq/worker:2", ("registry.acme/piiq/*",), True),
        ("registry.acme/piiqx/worker:2", ("registry.acme/piiq/*",), False),
        ("registry.acme/piiq/../evil:2", ("registry.acme/piiq/*",), False),
        ("docker.io/anything:latest", ("*",), True),
        ("ghcr.io/acme/piiq:0.1.0", (), False),
    ],
)
def test_image_allowed(image: str, allowed: tuple[str, ...], ok: bool) -> None:
    assert image_allowed(image, allowed) is ok


def test_a_refusal_names_the_image_and_the_allowed_repositories() -> None:
    message = image_refusal("docker.io/evil/piiq:1", ("ghcr.io/acme/piiq", "localhost/piiq"))
    assert message == (
        "spec.image 'docker.io/evil/piiq:1' is refused: repository 'docker.io/evil/piiq' is "
        "not among the repositories this operator allows (ghcr.io/acme/piiq, localhost/piiq); "
        "use one of them or ask the operator's installer to add it (chart value "
        "operator.allowedImageRepositories)"
    )
    assert "allows no image repositories" in str(image_refusal("x/piiq:1", ()))
    assert image_refusal("ghcr.io/acme/piiq:2", ("ghcr.io/acme/piiq",)) is None


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("ghcr.io/acme/piiq", None),
        ("registry.acme/piiq/*", None),
        ("*", None),
        ("registry:5000/piiq", None),
        ("ghcr.io/acme/piiq:0.1", "has a tag"),
        ("ghcr.io/acme/piiq@sha256:00", "is not a repository"),
        ("", "is not a repository"),
    ],
)
def test_repository_entries(entry: str, problem: str | None) -> None:
    found = check_repository_entry(entry)
    assert (found is None) if problem is None else (problem in str(found))


def test_slack_api_url() -> None:
    assert check_slack_api_url("https://slack.com/api/") is None
    assert check_slack_api_url("http://127.0.0.1:8080/api/") is None
    assert "give an http(s) URL ending in '/'" in str(check_slack_api_url("ftp://x/"))
    assert check_slack_api_url("https://slack.com/api") is not None
