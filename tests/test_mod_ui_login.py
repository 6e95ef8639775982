"""The login screen says why registering was refused: against real hosts
started with --invite-only and --no-registration, and, for a host whose
refusal it does not know, from /api/health's "registration"."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from game.core import protocol as P
from game.client.host_process import HostProcess
from game.client.scenes.login import LoginScene

from .conftest import ASYNC_MODES, stop_cleanly, unique_name
from .helpers_client import PASSWORD, Game


def register_on_screen(tmp_path, url: str, name: str) -> str:
    """Fill the login form, press Register, return what the screen says."""
    game = Game(tmp_path, url)
    try:
        login = game.app.push(LoginScene(server=url, username=name))
        login.password_entry.set_text(PASSWORD)
        login.submit(registering=True)
        assert login.busy
        game.until(lambda: not login.busy, what="the host's answer")
        return login.message
    finally:
        game.close()


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_an_invite_only_host_refuses_a_name_not_invited(tmp_path, mode):
    proc = HostProcess(tmp_path / "w.db", async_mode=mode, extra_args=("--invite-only",)).start()
    try:
        message = register_on_screen(tmp_path, proc.url, unique_name("new"))
    finally:
        stop_cleanly(proc)
    assert message == ("This host is invite only, and that name is not on its list. "
                       "Ask the host to invite you.")


def test_a_host_with_registration_closed_says_so(tmp_path):
    proc = HostProcess(tmp_path / "w.db", extra_args=("--no-registration",)).start()
    try:
        message = register_on_screen(tmp_path, proc.url, unique_name("new"))
    finally:
        stop_cleanly(proc)
    assert message == "This host is not taking new players: registration is closed."


class OlderHost(BaseHTTPRequestHandler):
    """A host refusing registration with a code this client does not know;
    its /api/health says registration is invite only."""

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        self._answer(200, {"ok": True, "game": "pixel-commons",
                           "registration": P.REGISTRATION_INVITE_ONLY})

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(403, {"ok": False, "error": "forbidden", "message": "no"})

    def log_message(self, *args):
        pass


def test_an_unknown_refusal_is_explained_by_the_hosts_health(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), OlderHost)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        message = register_on_screen(tmp_path, url, "newcomer")
    finally:
        server.shutdown()
        server.server_close()
    assert message.startswith("This host is invite only")
