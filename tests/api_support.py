"""Helpers for the API tests: issue keys, get clients that send them, receive webhooks."""

import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rest_framework.test import APIClient

from certification.api import services
from certification.models import Role
from certification.tenancy import tenant_scope


def issue_key(body, *, kind="body", role=Role.ADMIN, scopes=("read", "write"), holder=None, laboratory=None,
              name="Partner system", expires_at=None):
    with tenant_scope(body):
        return services.do_create_api_key(body=body, name=name, kind=kind, role=role if kind == "body" else "",
                                          holder=holder, laboratory=laboratory, scopes=scopes,
                                          expires_at=expires_at)


def key_client(token):
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {token}")
    return client


def make_api_world(world):
    """The shared two-body world plus: an admin key per body (read+write), a read-only key of A."""
    world.a.key = issue_key(world.a.body, name="A admin system")
    world.b.key = issue_key(world.b.body, name="B admin system")
    world.a.read_key = issue_key(world.a.body, scopes=("read",), role=Role.AUDITOR, name="A read-only")
    return world


class Receiver:
    """A loopback HTTP server that records requests and answers with the queued status codes (then 200)."""

    def __init__(self):
        self.requests = []
        self.statuses = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                try:
                    status = receiver.statuses.get_nowait()
                except queue.Empty:
                    status = 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
