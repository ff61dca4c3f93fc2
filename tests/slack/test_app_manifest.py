"""examples/slack-app.yaml against the code: every Web API method piiq names has its scope
in the manifest and nothing more is asked; every event subscribed is one the ingress turns
into a job, and the events it handles are all subscribed; the URLs are the ingress's."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import yaml

from piiq import sandbox as sb
from piiq.runtime.settings import Settings
from piiq.sandbox.web_api import WebApi
from piiq.slack import ingress
from piiq.slack.events import route_event
from piiq.slack.scopes import HISTORY, MESSAGE_EVENTS, METHODS, scopes_for
from tests.support.helm_chart import ROOT

MANIFEST = yaml.safe_load((ROOT / "examples/slack-app.yaml").read_text())
SLACK_CODE = ROOT / "worker/piiq/slack"
FAMILIES = (
    "admin|apps|auth|bookmarks|bots|calls|chat|conversations|dialog|discovery|dnd|emoji|"
    "files|oauth|openid|pins|reactions|reminders|search|stars|team|tooling|usergroups|"
    "users|views|workflows"
)
METHOD_NAME = re.compile(rf"""["']((?:{FAMILIES})(?:\.[A-Za-z0-9]+)+)["']""")
# Called by slack_sdk itself, never named in piiq's code: Socket Mode's connection.
CALLED_BY_THE_SDK = {"apps.connections.open"}


def methods_named_in_code() -> set[str]:
    found: set[str] = set()
    for path in SLACK_CODE.rglob("*.py"):
        found |= set(METHOD_NAME.findall(path.read_text()))
    return {m for m in found if not m.endswith(".com")}  # files.slack.com is a host


def test_every_method_piiq_calls_has_its_scopes_listed() -> None:
    used = methods_named_in_code()
    assert "chat.delete" in used and "conversations.replies" in used  # the scan finds them
    unknown = sorted(used - set(METHODS))
    assert not unknown, f"add {unknown} to piiq.slack.scopes.METHODS and the manifest"
    assert set(METHODS) - used <= CALLED_BY_THE_SDK, "a scope listed for a method not called"


@pytest.mark.parametrize("token", ["bot", "user"])
def test_the_manifest_asks_for_exactly_the_scopes_the_code_needs(token: str) -> None:
    asked = MANIFEST["oauth_config"]["scopes"][token]
    assert len(asked) == len(set(asked))
    assert set(asked) == scopes_for(methods_named_in_code(), token)  # type: ignore[arg-type]


def test_an_oauth_install_asks_for_the_manifests_scopes() -> None:
    defaults = Settings.model_fields
    scopes = MANIFEST["oauth_config"]["scopes"]
    assert sorted(defaults["slack_scopes"].default) == sorted(scopes["bot"])
    assert sorted(defaults["slack_user_scopes"].default) == sorted(scopes["user"])


def test_the_sandbox_answers_every_method_piiq_calls() -> None:
    methods = set(METHODS) - {"files.download"}  # a file URL, not a Web API method
    routes = {r.canonical for r in sb.SlackSandbox().app().router.resources()}
    missing = [
        m
        for m in methods
        if not hasattr(WebApi, "_m_" + m.replace(".", "_")) and f"/api/{m}" not in routes
    ]
    assert not missing


def test_each_subscribed_event_becomes_a_job_and_each_handled_one_is_subscribed() -> None:
    subscribed = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert set(subscribed) == set(MESSAGE_EVENTS)
    for name in subscribed:
        channel_type, scope = MESSAGE_EVENTS[name]
        assert scope in MANIFEST["oauth_config"]["scopes"]["bot"] and scope in HISTORY
        routing = route_event(envelope({"type": "message", "channel_type": channel_type}))
        assert routing.args is not None, (name, routing.reason)
    for other in ("app_mention", "reaction_added", "file_shared", "member_joined_channel"):
        assert route_event(envelope({"type": other})).args is None, other


def test_the_urls_are_the_ingress_routes() -> None:
    settings = MANIFEST["settings"]
    assert urlsplit(settings["event_subscriptions"]["request_url"]).path == ingress.EVENTS_PATH
    assert urlsplit(settings["interactivity"]["request_url"]).path == "/slack/interactions"
    (redirect,) = MANIFEST["oauth_config"]["redirect_urls"]
    assert urlsplit(redirect).path == "/slack/oauth_redirect"
    urls = [settings["event_subscriptions"]["request_url"], redirect]
    assert all(u.startswith("https://") for u in urls)  # Slack accepts only HTTPS


def test_the_manifest_has_the_shape_slack_reads() -> None:
    assert set(MANIFEST) <= {
        "_metadata",
        "display_information",
        "features",
        "oauth_config",
        "settings",
    }
    info = MANIFEST["display_information"]
    assert 0 < len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert MANIFEST["features"]["bot_user"]["display_name"]
    assert isinstance(MANIFEST["settings"]["socket_mode_enabled"], bool)


def envelope(event: dict) -> dict:
    channel = {"channel": "C1", "group": "G1", "im": "D1", "mpim": "G2"}
    return {
        "type": "event_callback",
        "event_id": "Ev1",
        "team_id": "T1",
        "event": {
            "channel": channel.get(event.get("channel_type", "channel"), "C1"),
            "user": "U1",
            "ts": "1.000001",
            "text": "hello",
            **event,
        },
    }
