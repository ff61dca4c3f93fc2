"""Every workspace of an org: the app installed through OAuth (slack_sdk's flow on the
ingress, Slack's side in the sandbox), each message acted on with its own workspace's
tokens, looked up per job from the encrypted installation store; refresh on expiry;
Enterprise Grid org-wide installs; forged and stale states refused.

The browser leg is the test's HTTP client: it follows the ingress's redirect to the
sandbox's authorize page (adding the workspace a person would pick there), which
redirects back to the ingress with a code, as Slack does.
"""

from __future__ import annotations

import os
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.oauth.installation_store.cacheable_installation_store import (
    CacheableInstallationStore,
)

from piiq import sandbox as sb
from piiq.queue import Client
from piiq.runtime.argscrypt import ArgsUnreadable, generate
from piiq.runtime.settings import Settings
from piiq.slack.oauth_app import OAuthApp
from piiq.slack.workspace_tokens import JobWorkspace, installation_for
from tests.support.pii_samples import CARD, leaks, never_log
from tests.support.piiq_cli import ingress_process

from .conftest import CHANNEL, serve_ingress_on
from .test_flow import jobs, run_workers, send

SECOND = "T0SECOND"


@pytest.fixture
def oauth_settings(slack: sb.SlackSandbox, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """OAuth only: no Secret tokens, every workspace's tokens from its installation."""
    env = {
        "PIIQ_SLACK_API_URL": slack.base_url,
        "PIIQ_SLACK_SIGNING_SECRET": sb.SIGNING_SECRET,
        "PIIQ_SLACK_CLIENT_ID": sb.CLIENT_ID,
        "PIIQ_SLACK_CLIENT_SECRET": sb.CLIENT_SECRET,
        "PIIQ_SLACK_TOKEN_KEYS": generate("t1"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PIIQ_SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("PIIQ_SLACK_ADMIN_TOKEN", raising=False)
    return Settings()


@pytest.fixture
def oauth_app(oauth_settings: Settings) -> OAuthApp:
    app = OAuthApp.from_settings(oauth_settings)
    assert app is not None
    return app


@pytest.fixture
async def oauth_ingress(
    slack: sb.SlackSandbox, slack_client: Client, oauth_app: OAuthApp
) -> AsyncIterator[str]:
    """The ingress with the install flow; the sandbox's app has it as its Redirect URL."""
    client = Client(slack_client.database_url, prefix=slack_client.prefix)
    async for url in serve_ingress_on(client, oauth=oauth_app):
        slack.oauth.redirect_uri = f"{url}/slack/oauth_redirect"
        yield url


def browser(ingress_url: str) -> aiohttp.ClientSession:
    """A browser: keeps the ingress's (Secure) state cookie for 127.0.0.1 over http."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[ingress_url])
    return aiohttp.ClientSession(cookie_jar=jar)


async def install(
    session: aiohttp.ClientSession, ingress_url: str, slack: sb.SlackSandbox, **picked: str
) -> tuple[int, str]:
    """Start at /slack/install, pick a workspace (``team=``) or org (``enterprise=``) on
    Slack's page, follow Slack's redirect back: the page the person ends on."""
    started = await session.get(f"{ingress_url}/slack/install", allow_redirects=False)
    assert started.status == 302
    authorize = started.headers["Location"]
    assert authorize.startswith(slack.authorize_url + "?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize).query)
    assert query["scope"] == [",".join(Settings().slack_scopes)]
    async with session.get(f"{authorize}&{urllib.parse.urlencode(picked)}") as page:
        return page.status, await page.text()


def issued_tokens(slack: sb.SlackSandbox) -> list[str]:
    """Every token and refresh token the sandbox's OAuth handed out; registered with the
    privacy check every log line of the session goes through (tests/conftest.py)."""
    fixed = {sb.BOT_TOKEN, sb.ADMIN_TOKEN, sb.APP_TOKEN}
    tokens = [t for t in slack.tenants.grants if t not in fixed]
    tokens += list(slack.tenants.refresh_tokens)
    never_log(*tokens)
    return tokens


def installations_dump(client: Client) -> str:
    with client.connect() as conn:
        rows = conn.execute(f'SELECT * FROM "{client.prefix}".piiq_slack_installations').fetchall()
    return repr(rows)


def label_of(slack: sb.SlackSandbox, token: str | None) -> str:
    assert token is not None
    return slack.tenants.grants[token].label


async def test_two_workspaces_installed_through_oauth_each_message_deleted_with_its_own_token(
    slack: sb.SlackSandbox,
    oauth_ingress: str,
    slack_client: Client,
    oauth_app: OAuthApp,
    log_lines,
) -> None:
    mark = len(log_lines.lines)
    slack.add_workspace(SECOND)
    async with browser(oauth_ingress) as session:
        for team in (sb.TEAM_ID, SECOND):
            status, page = await install(session, oauth_ingress, slack, team=team)
            assert status == 200 and "Thank you!" in page and f"team={team}" in page
    store = oauth_app.store(slack_client)
    installed = {
        team: store.find_installation(enterprise_id=None, team_id=team)
        for team in (sb.TEAM_ID, SECOND)
    }
    assert all(i is not None and i.bot_token and i.user_token for i in installed.values())
    assert installed[sb.TEAM_ID].bot_token != installed[SECOND].bot_token  # type: ignore[union-attr]

    posted = {}
    for team in (sb.TEAM_ID, SECOND):
        envelope = slack.team(team).post_message(CHANNEL, "U0ALICE", f"card {CARD}")
        posted[team] = envelope["event"]["ts"]
        assert await send(slack, oauth_ingress, envelope) == 200
    await run_workers(slack_client)

    # Each workspace answered the delete of its own message (the ts may be the same in
    # both), made with its own installation's user token.
    deletes = {(c.team, c.args["ts"]): c for c in slack.calls_to("chat.delete", ok=True)}
    assert set(deletes) == set(posted.items())
    for team, ts in posted.items():
        assert not slack.team(team).message_exists(CHANNEL, ts)
        call = deletes[team, ts]
        assert call.grant == label_of(slack, installed[team].user_token)  # type: ignore[union-attr]
        (dm,) = [c for c in slack.calls_to("chat.postMessage", ok=True) if c.team == team]
        assert dm.grant == label_of(slack, installed[team].bot_token)  # type: ignore[union-attr]
    secret = (f"{sb.TEAM_ID}/bot", f"{sb.TEAM_ID}/admin")  # the fixed tokens' labels
    assert not [c for c in slack.calls if c.grant in secret]

    # Jobs carry the workspace, never a token; tokens are in no log line and not in clear
    # in the database.
    tokens = issued_tokens(slack)
    assert len(tokens) == 4
    assert {j["args"]["team"] for j in jobs(slack_client)} == {sb.TEAM_ID, SECOND}
    assert leaks(log_lines.lines[mark:]) == []  # the tokens, the client secret, the card
    for token in tokens:
        assert not [j for j in jobs(slack_client) if token in repr(j)]
        assert token not in installations_dump(slack_client)
    installs = [e for e in log_lines.since(mark) if e.get("event") == "slack app installed"]
    assert sorted(e["team"] for e in installs) == sorted([sb.TEAM_ID, SECOND])


async def test_tokens_near_expiry_are_refreshed_before_the_job_uses_them(
    slack: sb.SlackSandbox,
    oauth_ingress: str,
    slack_client: Client,
    oauth_app: OAuthApp,
    log_lines,
) -> None:
    mark = len(log_lines.lines)
    slack.oauth.rotation = True
    slack.oauth.token_lifetime = 3600  # within the 2 hours before expiry that refresh
    async with browser(oauth_ingress) as session:
        assert (await install(session, oauth_ingress, slack))[0] == 200
    store = oauth_app.store(slack_client)
    before = store.find_installation(enterprise_id=None, team_id=sb.TEAM_ID)
    assert before is not None and before.bot_refresh_token and before.bot_token_expires_at
    slack.oauth.token_lifetime = 12 * 3600  # what the refresh hands out: good for a while

    for _ in range(2):
        envelope = slack.post_message(CHANNEL, "U0ALICE", f"card {CARD}")
        assert await send(slack, oauth_ingress, envelope) == 200
        await run_workers(slack_client)

    refreshes = [c for c in slack.calls_to("oauth.v2.access") if c.args.get("grant_type")]
    assert [(c.args["grant_type"], c.error) for c in refreshes] == [("refresh_token", None)] * 2
    after = store.find_installation(enterprise_id=None, team_id=sb.TEAM_ID)
    assert after is not None and after.bot_token != before.bot_token
    assert after.user_token != before.user_token
    assert after.bot_token_expires_at > before.bot_token_expires_at + 3600  # type: ignore[operator]
    deletes = slack.calls_to("chat.delete", ok=True)
    assert [c.grant for c in deletes] == [label_of(slack, after.user_token)] * 2
    for token in issued_tokens(slack):
        assert token not in installations_dump(slack_client)
    assert leaks(log_lines.lines[mark:]) == []


def test_pods_racing_to_refresh_an_installation_refresh_it_once(
    slack: sb.SlackSandbox, slack_client: Client, oauth_app: OAuthApp
) -> None:
    """Slack's refresh tokens are single use here: a second refresh with the same one is
    refused, so a race without the row lock fails a pod."""
    slack.oauth.rotation, slack.oauth.token_lifetime = True, 3600
    store = oauth_app.store(slack_client)
    store.save(_installed_directly(slack))
    slack.oauth.token_lifetime = 12 * 3600
    pods, start = 6, threading.Barrier(6)
    found: list[object] = []
    errors: list[BaseException] = []

    def pod() -> None:
        start.wait()
        try:
            found.append(installation_for(oauth_app, slack_client, JobWorkspace(sb.TEAM_ID)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pod) for _ in range(pods)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    refreshes = [c for c in slack.calls_to("oauth.v2.access") if c.args.get("grant_type")]
    assert len(refreshes) == 2  # the bot token and the user token, once each
    assert len({i.bot_token for i in found}) == 1  # type: ignore[attr-defined]


def _installed_directly(slack: sb.SlackSandbox):
    """An installation as the code exchange makes it, without the browser."""
    from slack_sdk import WebClient
    from slack_sdk.oauth.installation_store import Installation

    with slack.tenants.lock:
        bot, bot_refresh = slack.tenants.issue(sb.TEAM_ID, None, "bot", 3600)
        user, user_refresh = slack.tenants.issue(sb.TEAM_ID, None, "admin", 3600)
    assert WebClient(token=bot, base_url=slack.base_url).auth_test()["ok"]
    return Installation(
        team_id=sb.TEAM_ID,
        user_id=sb.ADMIN_USER_ID,
        bot_token=bot,
        bot_refresh_token=bot_refresh,
        bot_token_expires_in=3600,
        user_token=user,
        user_refresh_token=user_refresh,
        user_token_expires_in=3600,
    )


async def test_a_grid_org_wide_install_serves_every_workspace_of_the_org(
    slack: sb.SlackSandbox, oauth_ingress: str, slack_client: Client, oauth_app: OAuthApp
) -> None:
    teams = ("T0GRIDA", "T0GRIDB")
    for team in teams:
        slack.add_workspace(team, "E0GRID")
    async with browser(oauth_ingress) as session:
        status, page = await install(session, oauth_ingress, slack, enterprise="E0GRID")
    assert status == 200 and "manage/organization/apps/profile" in page
    org = oauth_app.store(slack_client).find_installation(
        enterprise_id="E0GRID", team_id=None, is_enterprise_install=True
    )
    assert org is not None and org.is_enterprise_install and org.team_id is None

    channels = {"T0GRIDA": "C0GRIDA", "T0GRIDB": "C0GRIDB"}
    posted = {}
    for team in teams:
        envelope = slack.team(team).post_message(channels[team], "U0BOB", f"card {CARD}")
        assert envelope["enterprise_id"] == "E0GRID" and envelope["team_id"] == team
        posted[team] = envelope["event"]["ts"]
        assert await send(slack, oauth_ingress, envelope) == 200
    await run_workers(slack_client)

    args = [j["args"] for j in jobs(slack_client)]
    assert {(a["team"], a["enterprise"], a["enterprise_install"]) for a in args} == {
        (team, "E0GRID", True) for team in teams
    }
    deletes = {(c.team, c.args["ts"]): c for c in slack.calls_to("chat.delete", ok=True)}
    assert set(deletes) == set(posted.items())
    for team, ts in posted.items():
        assert not slack.team(team).message_exists(channels[team], ts)
        assert deletes[team, ts].grant == label_of(slack, org.user_token)


async def test_forged_reused_stale_and_foreign_states_are_refused_with_a_page(
    slack: sb.SlackSandbox, oauth_ingress: str, slack_client: Client
) -> None:
    redirect = f"{oauth_ingress}/slack/oauth_redirect"
    # a state this ingress never issued, with a cookie to match
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as forger,
        forger.get(f"{redirect}?code=abc&state=forged", headers=_cookie("forged")) as page,
    ):
        assert page.status == 400
        assert "expired or was already used" in await page.text()

    async with browser(oauth_ingress) as session:
        # an issued state, consumed by a completed install, then replayed with its cookie
        started = await session.get(f"{oauth_ingress}/slack/install", allow_redirects=False)
        back = await session.get(started.headers["Location"], allow_redirects=False)
        assert back.status == 302
        replay = back.headers["Location"]
        assert (await session.get(replay)).status == 200
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as replayer:
            state = _state(started.headers["Location"])
            async with replayer.get(replay, headers=_cookie(state)) as page:
                assert page.status == 400 and "already used" in await page.text()

        # an issued state past its expiry
        started = await session.get(f"{oauth_ingress}/slack/install", allow_redirects=False)
        with slack_client.connect(autocommit=True) as conn:
            conn.execute(
                f'UPDATE "{slack_client.prefix}".piiq_slack_oauth_states '
                "SET expires_at = timezone('UTC', now()) - interval '1 second'"
            )
        async with session.get(started.headers["Location"]) as page:
            assert page.status == 400 and "expired" in await page.text()

        # the person declined on Slack's page
        started = await session.get(f"{oauth_ingress}/slack/install", allow_redirects=False)
        state = _state(started.headers["Location"])
        async with session.get(f"{redirect}?error=access_denied&state={state}") as page:
            assert page.status == 400 and "access_denied" in await page.text()

    # a state issued to another browser: this one has no cookie for it
    async with browser(oauth_ingress) as other:
        started = await other.get(f"{oauth_ingress}/slack/install", allow_redirects=False)
        authorize = started.headers["Location"]
    async with browser(oauth_ingress) as stranger, stranger.get(authorize) as page:
        assert page.status == 400 and "this browser did not start" in await page.text()
    exchanges = [c for c in slack.calls_to("oauth.v2.access") if not c.args.get("grant_type")]
    assert len(exchanges) == 1  # only the one good install reached the code exchange


async def test_an_answer_naming_no_installing_user_is_refused_with_a_page_saying_so(
    slack: sb.SlackSandbox, oauth_ingress: str, slack_client: Client
) -> None:
    """An installation is stored under its installer: without one there is nothing to
    store, and the page says why (not "the database is unreachable")."""
    slack.oauth.names_installer = False
    async with browser(oauth_ingress) as session:
        status, page = await install(session, oauth_ingress, slack)
    assert status == 502 and "names no installing user" in page
    assert installations_dump(slack_client) == "[]"


def _cookie(state: str) -> dict[str, str]:
    return {"Cookie": f"slack-app-oauth-state={state}"}


def _state(authorize_url: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(authorize_url).query)["state"][0]


async def test_a_workspace_without_installation_uses_the_secret_or_is_discarded_clearly(
    slack: sb.SlackSandbox,
    oauth_ingress: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Precedence: the job's installation, else the Secret's tokens, else a clear error."""
    slack.add_workspace(SECOND)
    lost = slack.team(SECOND).post_message(CHANNEL, "U0ALICE", f"card {CARD}")
    assert await send(slack, oauth_ingress, lost) == 200
    await run_workers(slack_client)
    (job,) = jobs(slack_client)
    assert job["state"] == "discarded"
    error = job["errors"][-1]["error"]
    assert f"no installation for workspace {SECOND}" in error and "/slack/install" in error

    monkeypatch.setenv("PIIQ_SLACK_BOT_TOKEN", sb.BOT_TOKEN)
    monkeypatch.setenv("PIIQ_SLACK_ADMIN_TOKEN", sb.ADMIN_TOKEN)
    envelope = slack.post_message(CHANNEL, "U0ALICE", f"card {CARD}")
    assert await send(slack, oauth_ingress, envelope) == 200
    await run_workers(slack_client)
    (delete,) = slack.calls_to("chat.delete", ok=True)
    assert delete.grant == f"{sb.TEAM_ID}/admin" and delete.team == sb.TEAM_ID


async def test_installation_store_follows_slack_sdks_interface(
    slack: sb.SlackSandbox, slack_client: Client, oauth_app: OAuthApp, monkeypatch
) -> None:
    """save / find_installation / find_bot / delete, keys rotating, boxes bound to rows."""
    store = oauth_app.store(slack_client)
    first = _installed_directly(slack)
    store.save(first)
    bot = store.find_bot(enterprise_id=None, team_id=sb.TEAM_ID)
    assert bot is not None and bot.bot_token == first.bot_token
    cached = CacheableInstallationStore(store)  # slack_sdk's own helper, over this store
    found = cached.find_installation(enterprise_id=None, team_id=sb.TEAM_ID)
    assert found is not None and found.user_token == first.user_token
    assert store.find_installation(enterprise_id=None, team_id="T0OTHER") is None

    # a new key first: the old rows still open, the next save uses the new key
    monkeypatch.setenv("PIIQ_SLACK_TOKEN_KEYS", f"{generate('t2')},{_setting_keys()}")
    rotated = OAuthApp.from_settings(Settings())
    assert rotated is not None and rotated.keys.ids == ["t2", "t1"]
    store2 = rotated.store(slack_client)
    again = store2.find_installation(enterprise_id=None, team_id=sb.TEAM_ID)
    assert again is not None and again.user_token == first.user_token
    store2.save(again)
    assert '"kid": "t2"' in installations_dump(slack_client).replace("'", '"')

    # a sealed box copied to another workspace's row does not open there
    with slack_client.connect(autocommit=True) as conn:
        conn.execute(
            f'INSERT INTO "{slack_client.prefix}".piiq_slack_installations '
            "SELECT client_id, enterprise_id, 'T0COPY', user_id, is_enterprise_install, "
            "installed_at, details, sealed FROM "
            f'"{slack_client.prefix}".piiq_slack_installations'
        )
    with pytest.raises(ArgsUnreadable, match="T0COPY do not decrypt with key id 't2'"):
        store2.find_installation(enterprise_id=None, team_id="T0COPY")

    store2.delete_all(enterprise_id=None, team_id=sb.TEAM_ID)
    assert store2.find_installation(enterprise_id=None, team_id=sb.TEAM_ID) is None


def _setting_keys() -> str:
    value = Settings().slack_token_keys
    assert value is not None
    return value.get_secret_value().split(",")[-1]


def test_oauth_settings_that_cannot_work_are_one_clear_line(
    oauth_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from piiq.slack.oauth_app import OAuthConfigError

    monkeypatch.delenv("PIIQ_SLACK_CLIENT_SECRET")
    with pytest.raises(OAuthConfigError, match="PIIQ_SLACK_CLIENT_SECRET is not"):
        OAuthApp.from_settings(Settings())
    monkeypatch.setenv("PIIQ_SLACK_CLIENT_SECRET", sb.CLIENT_SECRET)
    monkeypatch.delenv("PIIQ_SLACK_TOKEN_KEYS")
    monkeypatch.delenv("PIIQ_ARGS_KEYS", raising=False)
    with pytest.raises(OAuthConfigError, match="neither PIIQ_SLACK_TOKEN_KEYS nor"):
        OAuthApp.from_settings(Settings())
    monkeypatch.setenv("PIIQ_SLACK_TOKEN_KEYS", "t1:short")
    with pytest.raises(ValueError, match="PIIQ_SLACK_TOKEN_KEYS: the key of 't1'"):
        OAuthApp.from_settings(Settings())


async def test_uninstall_and_revoked_tokens_delete_the_stored_installation(
    slack: sb.SlackSandbox, oauth_ingress: str, slack_client: Client, oauth_app: OAuthApp
) -> None:
    slack.add_workspace(SECOND)
    async with browser(oauth_ingress) as session:
        for team in (sb.TEAM_ID, SECOND):
            assert (await install(session, oauth_ingress, slack, team=team))[0] == 200
    store = oauth_app.store(slack_client)

    def installed(team: str) -> bool:
        return store.find_installation(enterprise_id=None, team_id=team) is not None

    revoked = slack.team(SECOND).envelope(
        {"type": "tokens_revoked", "tokens": {"oauth": ["U0SOMEONE"], "bot": []}}
    )
    assert await send(slack, oauth_ingress, revoked) == 200
    assert installed(SECOND)  # another user's token: the installer's row stays
    revoked["event"]["tokens"]["oauth"] = [sb.ADMIN_USER_ID]
    revoked["event_id"] += "2"
    assert await send(slack, oauth_ingress, revoked) == 200
    assert not installed(SECOND) and installed(sb.TEAM_ID)

    uninstalled = slack.envelope({"type": "app_uninstalled"})
    assert await send(slack, oauth_ingress, uninstalled) == 200
    assert not installed(sb.TEAM_ID)
    assert jobs(slack_client) == []  # neither became a job


def status_of(url: str, method: str = "GET") -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def test_install_pages_and_events_served_apart_each_with_only_its_secrets(
    slack: sb.SlackSandbox,
    slack_client: Client,
    oauth_app: OAuthApp,
    piiq_command: list[str],
    subprocess_env: dict[str, str],
) -> None:
    """As Kubernetes runs them: the install Deployment holds the client secret and the
    token keys but no signing secret; the internet-facing events ingress holds the signing
    secret and the client id only, and an uninstall event still deletes the installation."""
    base = {
        k: v for k, v in subprocess_env.items() if not k.startswith(("PIIQ_SLACK", "PIIQ_ARGS"))
    }
    base["PIIQ_SLACK_API_URL"] = slack.base_url
    install_env = base | {
        "PIIQ_SLACK_CLIENT_ID": sb.CLIENT_ID,
        "PIIQ_SLACK_CLIENT_SECRET": sb.CLIENT_SECRET,
        "PIIQ_SLACK_TOKEN_KEYS": os.environ["PIIQ_SLACK_TOKEN_KEYS"],
    }
    events_env = base | {
        "PIIQ_SLACK_CLIENT_ID": sb.CLIENT_ID,
        "PIIQ_SLACK_SIGNING_SECRET": sb.SIGNING_SECRET,
    }
    with (
        ingress_process(piiq_command, install_env, "--routes", "install") as install_pod,
        ingress_process(piiq_command, events_env, "--routes", "events") as events_pod,
    ):
        slack.oauth.redirect_uri = f"{install_pod.url}/slack/oauth_redirect"
        async with browser(install_pod.url) as session:
            assert (await install(session, install_pod.url, slack, team=sb.TEAM_ID))[0] == 200
        store = oauth_app.store(slack_client)
        assert store.find_installation(enterprise_id=None, team_id=sb.TEAM_ID) is not None
        # Each serves only its own routes.
        assert status_of(f"{events_pod.url}/slack/install") == 404
        assert status_of(f"{install_pod.url}/slack/events", "POST") in (404, 405)
        uninstalled = slack.envelope({"type": "app_uninstalled"})
        assert slack.deliver(f"{events_pod.url}/slack/events", uninstalled)[0] == 200
        assert store.find_installation(enterprise_id=None, team_id=sb.TEAM_ID) is None
    assert jobs(slack_client) == []


def test_the_install_routes_alone_need_the_oauth_settings(
    piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    env = {k: v for k, v in subprocess_env.items() if not k.startswith("PIIQ_SLACK")}
    result = subprocess.run(
        [*piiq_command, "ingress", "--routes", "install"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--routes install serves the OAuth install" in result.stderr
