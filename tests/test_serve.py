"""`paramtui --serve`: the app in a browser tab. The browser test loads the page in headless
Chromium (Debian's chromium + chromium-driver, driven over the WebDriver protocol with urllib)
and checks that the app's tree text reaches the page through its websocket."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

import paramtui.cli as cli
from paramtui.cli import serve

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
NO_BROWSER = "headless Chromium is not installed (apt-get install chromium chromium-driver)"
# Records what the page receives on its websockets: xterm.js draws on a canvas, not in the DOM.
RECORD_SOCKETS = """
window.__received = [];
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = protocols ? new Native(url, protocols) : new Native(url);
  socket.addEventListener("message", (e) => window.__received.push(
    typeof e.data === "string" ? e.data : new TextDecoder().decode(new Uint8Array(e.data))));
  return socket;
};
window.WebSocket.prototype = Native.prototype;
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_loopback_hosts() -> None:
    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("localhost")
    assert serve.is_loopback("::1") and not serve.is_loopback("0.0.0.0")
    assert not serve.is_loopback("192.168.1.5") and not serve.is_loopback("example.org")


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.safetensors"
    save_file({"encoder.layer.weight": torch.ones(4, 4), "decoder.head.bias": torch.zeros(3)}, path)
    return path


def test_a_non_loopback_host_is_warned_about(small: Path, monkeypatch: Any, capsys: Any) -> None:
    served: list[tuple[str, str, int]] = []

    class FakeServer:
        def __init__(self, command: str, host: str, port: int) -> None:
            served.append((command, host, port))

        def serve(self) -> None:
            pass

    monkeypatch.setattr(serve, "_server", FakeServer)
    assert cli.main(["--serve", "--host", "0.0.0.0", "--port", "9001", str(small)]) == 0
    assert "anyone who can reach port 9001" in capsys.readouterr().err
    assert cli.main(["--serve", str(small)]) == 0
    assert capsys.readouterr().err == ""
    assert [(host, port) for _, host, port in served] == [("0.0.0.0", 9001), ("127.0.0.1", 8000)]
    assert served[0][0].endswith(f"-m paramtui {small}")


@pytest.fixture
def server(small: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "paramtui", "--serve", "--port", str(port), str(small)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()  # printed once the server listens
    try:
        assert line.startswith(f"paramtui: serving at http://127.0.0.1:{port}"), line
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=30)


class WebDriver:
    """The few WebDriver calls the test needs, over chromedriver's HTTP endpoint."""

    def __init__(self) -> None:
        self.base = f"http://127.0.0.1:{free_port()}"
        port = self.base.rsplit(":", 1)[1]
        self.process = subprocess.Popen([str(DRIVER), f"--port={port}"], stderr=subprocess.DEVNULL)
        self._wait_ready()
        options = {"binary": CHROMIUM, "args": ["--headless=new", "--no-sandbox", "--disable-gpu"]}
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}}
        self.session = "/session/" + self.call("POST", "/session", caps)["sessionId"]

    def _wait_ready(self) -> None:
        for _ in range(300):
            try:
                self.call("GET", "/status")
                return
            except OSError:
                time.sleep(0.1)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())["value"]

    def received_text(self) -> str:
        script = {"script": "return (window.__received || []).join('')", "args": []}
        return str(self.call("POST", f"{self.session}/execute/sync", script))

    def close(self) -> None:
        try:
            self.call("DELETE", self.session)
        finally:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason=NO_BROWSER)
def test_the_page_shows_the_apps_tree_in_headless_chromium(server: str) -> None:
    browser = WebDriver()
    try:
        hook = {
            "cmd": "Page.addScriptToEvaluateOnNewDocument",
            "params": {"source": RECORD_SOCKETS},
        }
        browser.call("POST", f"{browser.session}/goog/cdp/execute", hook)
        browser.call("POST", f"{browser.session}/url", {"url": server})
        text = ""
        for _ in range(600):  # the app starts in its own process: up to a minute on a busy CI
            text = browser.received_text()
            if "encoder" in text and "decoder" in text:
                break
            time.sleep(0.1)
        assert "encoder" in text and "decoder" in text, text[-500:]
        assert "small.safetensors" in text  # the header's title
    finally:
        browser.close()
