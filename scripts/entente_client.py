"""Shared by the Python check scripts: a small client of entente's API (standard library only)."""
import json
import urllib.error
import urllib.request
from datetime import timezone

PASSWORD = "a-long-check-password"


class Entente:
    def __init__(self, base):
        self.base = base

    def request(self, method, path, token=None, body=None, headers=None):
        """Any request: (status, headers with lower-case names, body bytes); errors included."""
        req = urllib.request.Request(self.base + path, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        data = json.dumps(body).encode() if body is not None else None
        try:
            with urllib.request.urlopen(req, data) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def call(self, method, path, token=None, body=None, raw=False):
        """A request that must succeed: its JSON (or text with raw=True)."""
        status, _, content = self.request(method, path, token, body)
        if status >= 400:
            raise SystemExit(f"{method} {path}: {status} {content.decode()}")
        if raw:
            return content.decode()
        return json.loads(content) if content else None

    def login(self, username, password):
        body = {"username": username, "password": password}
        return self.call("POST", "/api/v1/auth/login", body=body)["access_token"]

    def host_and_guest(self, admin_password, host, guest, username):
        """Creates two delegations (bodies as POST /delegations takes them) and a scheduler of the
        first; returns (scheduler token, host, guest)."""
        admin = self.login("admin", admin_password)
        host = self.call("POST", "/api/v1/delegations", admin, host)
        guest = self.call("POST", "/api/v1/delegations", admin, guest)
        self.call("POST", f"/api/v1/delegations/{host['id']}/users", admin,
                  {"username": username, "password": PASSWORD, "role": "scheduler"})
        return self.login(username, PASSWORD), host, guest


def utc(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
