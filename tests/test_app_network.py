"""``placesim app`` is private by default: another machine on the network cannot reach it.

Two hosts on a private test network: network namespaces joined by a veth pair, made by this
test and removed after it, with documentation-range addresses (RFC 5737) that exist only inside
them. The app runs on one host; the other is a colleague's laptop on the same LAN. With the
defaults the laptop's connection is refused (and so is one to the app host's own network
address); with ``--host 0.0.0.0`` the laptop gets the app's page.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.network

APP_HOST, LAPTOP = "198.51.100.1", "198.51.100.2"
PORT = 8501  # the default: nothing else listens inside these namespaces

PROBE = """
import sys, urllib.error, urllib.request
try:
    body = urllib.request.urlopen(f"http://{sys.argv[1]}/_stcore/health", timeout=5).read()
    print("ok" if body == b"ok" else "unexpected: " + body.decode(errors="replace"))
except urllib.error.HTTPError as e:
    print(f"HTTP {e.code}")
except OSError as e:
    print(type(getattr(e, "reason", e)).__name__)
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def lan():
    """Namespaces ``app`` and ``laptop`` on one link: ``{"app": name, "laptop": name}``."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("creating network namespaces needs root and iproute2 (CI has both)")
    tag = uuid.uuid4().hex[:8]
    ns = {"app": f"placesim-app-{tag}", "laptop": f"placesim-laptop-{tag}"}
    try:
        for name in ns.values():
            _ip("netns", "add", name)
            _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", ns["app"], "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
            "netns", ns["laptop"])
        for name, address in ((ns["app"], APP_HOST), (ns["laptop"], LAPTOP)):
            _ip("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
        yield ns
    finally:
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _get(ns: str, address: str, port: int = PORT) -> str:
    """What a browser in namespace ``ns`` gets from the app at ``address``: 'ok' or an error."""
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", PROBE,
                          f"{address}:{port}"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or out.stderr.strip()


@contextlib.contextmanager
def _app(ns: str, *args: str, port: int = PORT):
    """``placesim app ARGS`` running in namespace ``ns``, once it answers on its loopback;
    yields a function returning what it has printed."""
    with tempfile.NamedTemporaryFile("w+") as log:
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "placesim.cli",
                              "app", *args, "--port", str(port)], stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True,
                             cwd=tempfile.gettempdir())  # not the project folder
        try:
            deadline = time.monotonic() + 90
            while _get(ns, "127.0.0.1", port) != "ok":
                assert p.poll() is None, "the app stopped: " + Path(log.name).read_text()
                assert time.monotonic() < deadline, "the app did not start"
                time.sleep(0.3)
            yield lambda: Path(log.name).read_text()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture(scope="module")
def app_with_defaults(lan):
    """``placesim app`` with its defaults on the app host (shared by two tests: it takes
    seconds to start)."""
    with _app(lan["app"]) as printed:
        yield printed


def test_the_test_network_carries_http(lan):
    """The laptop reaches a server listening on every interface of the app host (so the
    refusal below is the app's doing, not the network's)."""
    p = subprocess.Popen(["ip", "netns", "exec", lan["app"], sys.executable, "-m",
                          "http.server", str(PORT), "--bind", "0.0.0.0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while (got := _get(lan["laptop"], APP_HOST)) == "ConnectionRefusedError":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert got == "HTTP 404"  # it answered
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_app_is_private_by_default(lan, app_with_defaults):
    assert _get(lan["laptop"], APP_HOST) == "ConnectionRefusedError"
    assert _get(lan["app"], APP_HOST) == "ConnectionRefusedError"  # its own LAN address
    assert _get(lan["app"], "127.0.0.1") == "ok"
    assert "this computer only" in app_with_defaults()


def test_host_0000_serves_the_network(lan):
    with _app(lan["app"], "--host", "0.0.0.0", port=PORT + 1) as printed:
        assert _get(lan["laptop"], APP_HOST, PORT + 1) == "ok"
        assert "anyone who can reach this machine" in printed()


# --- a team behind sign-in: docs/deploy/nginx-placesim.conf and oauth2-proxy.cfg ----------

DEPLOY = Path(__file__).resolve().parent.parent / "docs" / "deploy"

SIGN_IN = """
# Stands in for oauth2-proxy: signed in means the cookie oauth2-proxy would have set.
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        signed_in = "_oauth2_proxy=signed-in" in (self.headers.get("Cookie") or "")
        if self.path.startswith("/oauth2/auth"):
            code, body = (202, b"") if signed_in else (401, b"")
        elif self.path.startswith("/oauth2/sign_in"):
            code, body = 200, b"sign in with your department account"
        else:
            code, body = 404, b""
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", 4180), H).serve_forever()
"""

BROWSER = """
import base64, json, os, socket, ssl, sys, urllib.error, urllib.request
host = sys.argv[1]
tls = ssl.create_default_context()
tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE  # the test's own certificate
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=tls))
def get(url, cookie=None):
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(req, timeout=10) as r:
            return [r.status, r.read().decode(errors="replace")[:2000]]
    except urllib.error.HTTPError as e:
        return [e.code, e.read().decode(errors="replace")[:2000]]
    except OSError as e:
        return [type(getattr(e, "reason", e)).__name__, ""]
def websocket(cookie):
    with socket.create_connection((host, 443), timeout=10) as raw:
        with tls.wrap_socket(raw, server_hostname="placesim.example.gov.uk") as s:
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall((f"GET /_stcore/stream HTTP/1.1\\r\\nHost: {host}\\r\\n"
                       "Upgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                       f"Sec-WebSocket-Key: {key}\\r\\nSec-WebSocket-Version: 13\\r\\n"
                       f"Cookie: {cookie}\\r\\n\\r\\n").encode())
            return s.recv(4096).decode(errors="replace").split("\\r\\n")[0]
ok = "_oauth2_proxy=signed-in"
print(json.dumps({
    "anonymous": get(f"https://{host}/"),
    "signed_in": get(f"https://{host}/", ok),
    "health": get(f"https://{host}/_stcore/health", ok),
    "websocket": websocket(ok),
    "plain_http": get(f"http://{host}/"),
    "app_port": get(f"http://{host}:8501/_stcore/health"),
}))
"""


WAIT_LISTENING = """
import socket, sys, time
deadline = time.monotonic() + 60
for port in map(int, sys.argv[1:]):
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"nothing listens on port {port}")
            time.sleep(0.1)
"""


def _spawn(ns: str, *cmd: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(p: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGTERM)
    p.wait(timeout=20)


def _nginx_config(tmp: Path) -> Path:
    """The shipped site, with a certificate made for the test, in a main config of its own."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=placesim.example.gov.uk", "-keyout", str(tmp / "key.pem"),
                    "-out", str(tmp / "cert.pem")], check=True, capture_output=True)
    site = (DEPLOY / "nginx-placesim.conf").read_text()
    for shipped, ours in (("/etc/ssl/placesim/fullchain.pem", tmp / "cert.pem"),
                          ("/etc/ssl/placesim/privkey.pem", tmp / "key.pem")):
        assert site.count(shipped) == 1
        site = site.replace(shipped, str(ours))
    (tmp / "site.conf").write_text(site)
    main = tmp / "nginx.conf"
    main.write_text(f"""user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    include {tmp}/site.conf;
}}
""")
    return main


def test_oauth2_proxy_config_matches_the_nginx_site():
    cfg = tomllib.loads((DEPLOY / "oauth2-proxy.cfg").read_text())
    site = (DEPLOY / "nginx-placesim.conf").read_text()
    assert f"server {cfg['http_address']};" in site
    host = cfg["redirect_url"].removeprefix("https://").split("/")[0]
    assert f"server_name {host};" in site and cfg["redirect_url"].endswith("/oauth2/callback")
    assert cfg["upstreams"] == ["static://202"] and cfg["reverse_proxy"] is True
    assert not {"client_secret", "cookie_secret"} & set(cfg), "secrets belong in the environment"


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is not installed (make test installs Debian's nginx)")
def test_team_behind_sign_in(lan, app_with_defaults, tmp_path):
    """The documented deployment, on the test network: nginx with the shipped site and a
    stand-in for oauth2-proxy on the app host, the app with its defaults beside them. The
    laptop gets the sign-in page until it has signed in, then the app and its websocket, and
    never reaches the app except through the proxy."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = _nginx_config(tmp_path)
    check = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    procs = [_spawn(lan["app"], sys.executable, "-c", SIGN_IN, log=tmp_path / "sign-in.log"),
             _spawn(lan["app"], nginx, "-c", str(conf), "-g", "daemon off;",
                    log=tmp_path / "nginx.log")]
    try:
        ready = subprocess.run(["ip", "netns", "exec", lan["app"], sys.executable, "-c",
                                WAIT_LISTENING, "4180", "443", "80"], capture_output=True,
                               text=True, timeout=90)
        assert ready.returncode == 0, ready.stderr + (tmp_path / "nginx.log").read_text()
        out = subprocess.run(["ip", "netns", "exec", lan["laptop"], sys.executable, "-c",
                              BROWSER, APP_HOST], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)
    finally:
        for p in procs:
            _stop(p)
    assert got["anonymous"] == [403, "sign in with your department account"]
    status, page = got["signed_in"]
    assert status == 200 and "<title>Streamlit</title>" in page, got["signed_in"]
    assert got["health"] == [200, "ok"]
    assert got["websocket"] == "HTTP/1.1 101 Switching Protocols"
    assert got["plain_http"][0] == 301
    assert got["app_port"] == ["ConnectionRefusedError", ""]
