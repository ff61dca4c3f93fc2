"""Slack's upload flow, as ``WebClient.files_upload_v2`` drives it: files.getUploadURLExternal
hands out a file id and an upload URL, the bytes are POSTed there (no token: the URL is
the grant), and files.completeUploadExternal makes the file and, with ``channel_id``,
shares it there in a message from the uploader (``initial_comment`` its text, in
``thread_ts``'s thread). Mixed into ``WebApi``; they work on its ``workspace``."""

from __future__ import annotations

import mimetypes
from typing import Any

from aiohttp import web

from .answers import error as _error
from .answers import ok as _ok
from .tenants import Tenants
from .workspace import ADMIN_USER_ID, BOT_ID, BOT_USER_ID, Workspace, new_file_id


class UploadMethods:
    workspace: Workspace
    tenants: Tenants
    origin: str  # this sandbox's http://host:port, set per request

    def _m_files_getUploadURLExternal(self, args: dict[str, Any], kind: str) -> web.Response:
        name, length = args.get("filename"), str(args.get("length") or "")
        if not name:
            return _error("invalid_arguments")
        if not length.isdigit() or int(length) < 1:
            return _error("invalid_length")
        file_id = new_file_id()
        self.workspace.uploads[file_id] = {"name": name, "length": int(length), "body": None}
        url = f"{self.origin}/upload/v1/{self.workspace.team_id}-{file_id}"
        return _ok(upload_url=url, file_id=file_id)

    def _m_files_completeUploadExternal(self, args: dict[str, Any], kind: str) -> web.Response:
        from .interactive_api import json_field

        files = json_field(args.get("files"))
        if not isinstance(files, list) or not files:
            return _error("invalid_arguments")
        pending = [self.workspace.uploads.get(str(f.get("id"))) for f in files]
        if any(p is None or p["body"] is None for p in pending):
            return _error("file_not_found")  # unknown id, or its bytes never arrived
        made = []
        for f, upload in zip(files, pending, strict=True):
            assert upload is not None
            file_id = str(f["id"])
            del self.workspace.uploads[file_id]
            name = upload["name"]
            mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            info = self.workspace.store_file(
                file_id, name, upload["body"], mimetype, files_url=f"{self.origin}/files-pri"
            )
            info["title"] = f.get("title") or name
            info["user"] = BOT_USER_ID if kind == "bot" else ADMIN_USER_ID
            made.append(info)
        channel = args.get("channel_id")
        if channel:
            self._share(channel, made, kind, args)
        return _ok(files=[{"id": f["id"], "title": f["title"]} for f in made])

    def _share(
        self, channel: str, files: list[dict[str, Any]], kind: str, args: dict[str, Any]
    ) -> None:
        ts = self.workspace.new_ts()
        self.workspace.known_channel(channel)
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "file_share",
            "channel": channel,
            "text": args.get("initial_comment") or "",
            "ts": ts,
            "bot_id": BOT_ID if kind == "bot" else None,
            "user": BOT_USER_ID if kind == "bot" else ADMIN_USER_ID,
            "files": files,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self.workspace.messages[(channel, ts)] = message
        for info in files:
            info["channels"] = [channel]

    async def upload(self, request: web.Request) -> web.Response:
        """The upload URL: the bytes of a file begun with files.getUploadURLExternal."""
        team, _, file_id = request.match_info["team_file"].rpartition("-")
        body = await request.read()
        with self.tenants.lock:
            workspace = self.tenants.workspaces.get(team)
            upload = workspace.uploads.get(file_id) if workspace else None
            if upload is None:
                return web.Response(status=404, text="upload not found")
            if len(body) != upload["length"]:
                return web.Response(status=400, text="length does not match")
            upload["body"] = body
        return web.Response(text=f"OK - {len(body)}")
