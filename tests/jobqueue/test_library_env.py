"""The queue library reads no PIIQ_* variable: the application passes the URL and the node
name in (piiq's commands read them from their settings)."""

from __future__ import annotations

import socket

import pytest

from piiq.queue import Client, ConfigError, Runner


def test_client_without_url_ignores_piiq_database_url(
    monkeypatch: pytest.MonkeyPatch, queue_database_url: str
) -> None:
    monkeypatch.setenv("PIIQ_DATABASE_URL", queue_database_url)
    with pytest.raises(ConfigError, match="pass database_url to Client"):
        Client().connect()


def test_runner_node_is_the_host_name_not_piiq_node(
    monkeypatch: pytest.MonkeyPatch, queue_database_url: str, queue_prefix: str
) -> None:
    monkeypatch.setenv("PIIQ_NODE", "from-the-environment")
    client = Client(queue_database_url, prefix=queue_prefix)
    assert Runner(client, {"default": 1}).node == socket.gethostname()
    assert Runner(client, {"default": 1}, node="pod-7").node == "pod-7"


def test_the_application_settings_read_piiq_node_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from piiq.runtime.settings import Settings

    monkeypatch.setenv("PIIQ_NODE", "pod-3")
    monkeypatch.setenv("PIIQ_DATABASE_URL", "postgresql://u@127.0.0.1:1/db")
    settings = Settings()
    assert (settings.node, settings.database_url) == ("pod-3", "postgresql://u@127.0.0.1:1/db")
