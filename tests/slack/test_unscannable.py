"""Files that cannot be (fully) read, file names, and the scope of a file deletion, end to
end: a signed event -> the ingress -> a file job -> the worker (extraction in its child
process) -> Slack calls in the sandbox -> an audit row. Before, every file here was
either passed as clean with one INFO line, or deleted workspace-wide."""

from __future__ import annotations

from pathlib import Path

import pytest

from piiq import sandbox as sb
from piiq.queue import Client
from tests.support import documents
from tests.support.pii_samples import CARD, SSN

from .conftest import CHANNEL
from .test_flow import audit_rows, jobs, run_workers, send

ADMINS = "C0SECURITY"


@pytest.fixture
def admin_channel(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PIIQ_ADMIN_CHANNEL", ADMINS)
    return ADMINS


def policy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, unscannable: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(f"entities:\n  CREDIT_CARD: {{delete: 0.5}}\nunscannable: {unscannable}\n")
    monkeypatch.setenv("PIIQ_POLICY_FILE", str(path))


async def share(
    slack: sb.SlackSandbox, ingress_url: str, client: Client, name: str, body: bytes, **info
) -> dict:
    """Alice shares one file; the workers run until every job is final."""
    shared = slack.add_file(name, body, "application/octet-stream")
    slack.workspace.files[shared["id"]].update(info)
    envelope = slack.post_message(CHANNEL, "U0ALICE", "see attached", files=[shared])
    assert await send(slack, ingress_url, envelope) == 200
    await run_workers(client, within=90)
    return {**shared, "ts": envelope["event"]["ts"]}


def alerts(slack: sb.SlackSandbox) -> list[str]:
    calls = slack.calls_to("chat.postMessage", ok=True)
    return [c.args["text"] for c in calls if c.args["channel"] == ADMINS]


async def test_an_encrypted_pdf_stays_and_the_author_and_admins_hear(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, admin_channel: str
) -> None:
    shared = await share(
        slack, ingress_url, slack_client, "salaries.pdf", documents.encrypted_pdf()
    )
    assert shared["id"] in slack.workspace.files  # the default, alert: it stays
    assert not slack.calls_to("files.delete")
    (dm,) = [m["text"] for m in slack.direct_messages("U0ALICE")]
    assert dm.startswith(
        f"I could not check the file salaries.pdf you shared in <#{CHANNEL}> for personal data "
        "(not scanned: encrypted PDF: cannot read it without the password). It stays up"
    )
    (alert,) = alerts(slack)
    assert f"piiq could not check file {shared['id']} by <@U0ALICE> in <#{CHANNEL}>" in alert
    assert "left it in place" in alert
    (row,) = audit_rows(slack_client)
    assert (row["decision"], row["action"], row["entities"]) == ("not_scanned", "notified", {})
    assert row["outcome"] == "author notified; admins alerted"


async def test_unscannable_warn_tells_only_the_author(
    slack: sb.SlackSandbox,
    ingress_url: str,
    slack_client: Client,
    admin_channel: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    policy(monkeypatch, tmp_path, "warn")
    await share(slack, ingress_url, slack_client, "tool.bin", bytes(range(256)) * 8)
    (dm,) = [m["text"] for m in slack.direct_messages("U0ALICE")]
    assert "(not scanned: unsupported file type)" in dm
    assert not alerts(slack)
    (row,) = audit_rows(slack_client)
    assert (row["decision"], row["outcome"]) == ("not_scanned", "author notified")


async def test_unscannable_delete_removes_the_file(
    slack: sb.SlackSandbox,
    ingress_url: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    policy(monkeypatch, tmp_path, "delete")
    shared = await share(slack, ingress_url, slack_client, "secret.pdf", documents.encrypted_pdf())
    assert shared["id"] not in slack.workspace.files
    (dm,) = [m["text"] for m in slack.direct_messages("U0ALICE")]
    assert "Files I cannot check are removed here, so I removed it." in dm
    (row,) = audit_rows(slack_client)
    assert (row["decision"], row["action"]) == ("not_scanned", "deleted")


async def test_a_partly_read_archive_is_not_clean(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, admin_channel: str
) -> None:
    """A zip was "unsupported file type", passed with an INFO line. Now its members are
    read; the one that cannot be makes it partly scanned; member names stay out of the
    DM, the alert, the audit row and the log."""
    members = {"agenda.txt": b"roadmap, hiring", "payroll-q3.bin": bytes(range(256)) * 8}
    shared = await share(slack, ingress_url, slack_client, "bundle.zip", documents.archive(members))
    (dm,) = [m["text"] for m in slack.direct_messages("U0ALICE")]
    assert "(partly scanned: unsupported file type)" in dm and "payroll" not in dm
    (alert,) = alerts(slack)
    assert "payroll" not in alert and shared["id"] in slack.workspace.files
    (row,) = audit_rows(slack_client)
    assert row["decision"] == "partly_scanned" and "payroll" not in row["outcome"]


async def test_a_member_name_with_pii_deletes_the_archive(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    members = {"agenda.txt": b"roadmap", f"SSN {SSN}.txt": b"hiring"}
    shared = await share(slack, ingress_url, slack_client, "bundle.zip", documents.archive(members))
    assert shared["id"] not in slack.workspace.files


async def test_pii_in_an_archive_member_deletes_the_archive(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    inner = documents.archive({"cards.csv": f"name,card\nAda,{CARD}\n".encode()})
    shared = await share(
        slack, ingress_url, slack_client, "export.zip", documents.archive({"inner.zip": inner})
    )
    assert shared["id"] not in slack.workspace.files
    (row,) = audit_rows(slack_client)
    assert (row["decision"], row["entities"]) == ("delete", {"CREDIT_CARD": 1})


async def test_a_file_over_the_size_limit_is_not_scanned(
    slack: sb.SlackSandbox,
    ingress_url: str,
    slack_client: Client,
    admin_channel: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PIIQ_MAX_FILE_BYTES", "1000")
    await share(slack, ingress_url, slack_client, "big.txt", b"x" * 5000)
    (dm,) = [m["text"] for m in slack.direct_messages("U0ALICE")]
    assert "(not scanned: too large: 5,000 bytes (limit 1,000))" in dm
    assert len(alerts(slack)) == 1


async def test_the_file_name_is_scanned_and_the_dm_does_not_quote_it(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    name = f"card-{CARD.replace(' ', '-')}.txt"  # the sandbox's URLs keep names unquoted
    shared = await share(slack, ingress_url, slack_client, name, b"agenda\n")
    assert shared["id"] not in slack.workspace.files
    (dm,) = [m["text"] for m in slack.direct_messages("U0ALICE")]
    assert "I removed the file card-<CREDIT_CARD>.txt you shared" in dm
    assert CARD.replace(" ", "-") not in dm
    (row,) = audit_rows(slack_client)
    assert row["entities"] == {"CREDIT_CARD": 1}


async def test_someone_elses_file_is_not_deleted_everywhere(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, admin_channel: str
) -> None:
    """Alice re-shares Bob's file: only her share message goes, the file stays for Bob."""
    body = f"Card: {CARD}\n".encode()
    shared = await share(slack, ingress_url, slack_client, "cards.txt", body, user="U0BOB")
    assert shared["id"] in slack.workspace.files and not slack.calls_to("files.delete")
    (delete,) = slack.calls_to("chat.delete")
    assert delete.args == {"channel": CHANNEL, "ts": shared["ts"]}
    assert not slack.message_exists(CHANNEL, shared["ts"])
    (dm,) = [m["text"] for m in slack.direct_messages("U0ALICE")]
    assert dm.startswith("I removed your message sharing the file cards.txt")
    (alert,) = alerts(slack)
    assert "the file itself was kept: it belongs to <@U0BOB>, who did not share it here" in alert
    (row,) = audit_rows(slack_client)
    assert (row["action"], row["outcome"]) == (
        "deleted",
        "deleted; author notified; admins alerted",
    )


async def test_a_file_shared_in_an_exempt_channel_is_not_deleted_everywhere(
    slack: sb.SlackSandbox,
    ingress_url: str,
    slack_client: Client,
    admin_channel: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PIIQ_EXEMPT_CHANNELS", "C0HR")
    body = f"Card: {CARD}\n".encode()
    shared = await share(
        slack,
        ingress_url,
        slack_client,
        "cards.txt",
        body,
        user="U0ALICE",
        channels=["C0HR", CHANNEL],
    )
    assert shared["id"] in slack.workspace.files and not slack.calls_to("files.delete")
    assert not slack.message_exists(CHANNEL, shared["ts"])
    (alert,) = alerts(slack)
    assert "it is shared in the exempt channel <#C0HR>" in alert
    file_jobs = [j for j in jobs(slack_client) if j["queue"] == "pii_detection"]
    assert [j["state"] for j in file_jobs] == ["completed"]
