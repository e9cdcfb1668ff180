"""Browser-test helpers shared by every page's tests: the system Chromium, a live `voc serve`,
what a page logged, and the accessibility check."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: `playwright install` cannot download a browser here
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
    # Without these Chromium keeps calling home, which a closed network punishes with stalls.
    "--disable-background-networking", "--disable-quic", "--disable-component-update",
]
# Third-party origins a page may try; tests abort them at once (there is no internet, and a DNS
# timeout would cost seconds), and their failure is expected, so it is not a console error.
BLOCKED_ORIGINS = ("https://unpkg.com/",)
SERIOUS_IMPACTS = ("serious", "critical")
DEFAULT_TIMEOUT_MS = 5_000  # a page here answers in milliseconds: fail fast rather than wait 30 s
# Run in every page before its own scripts: notes when htmx has set the page up (its `htmx:load` on <body>),
# which is later than `window.htmx` appearing when the vendored copy is loaded as the fallback.
HTMX_STARTED_SCRIPT = ("document.addEventListener('htmx:load', function (e) {"
                       " if (e.target === document.body) window.vocHtmxStarted = true; });")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`voc serve --no-worker` on a free loopback port and its own database (an SQLite file in `directory`
    unless `database_url` is given), which it migrates on start.

    Starting does not wait: the server boots while the browser launches; `wait_until_ready` waits."""

    def __init__(self, directory: Path, env: dict[str, str], database_url: str | None = None) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.database_url = database_url or f"sqlite:///{directory / 'voc.db'}"
        self.log = directory / "server.log"
        server_env = {**os.environ, **env, "VOC_DATABASE_URL": self.database_url, "VOC_BASE_URL": self.url,
                      "VOC_LOG_LEVEL": "WARNING"}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "voc.cli", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
                env=server_env, stdout=out, stderr=subprocess.STDOUT)
        self._ready = False

    def wait_until_ready(self, timeout: float = 60) -> None:
        """Return once /healthz answers; fail with the server's log if it died or took too long."""
        deadline = time.monotonic() + timeout
        while not self._ready:
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                self._ready = httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            if not self._ready:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"voc serve did not come up on {self.url}:\n"
                                       f"{self.log.read_text(errors='replace')}")
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class PageLog:
    """What the pages of one test reported: errors fail the test, dialogs mean a script ran."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect_console_error(self, text: str) -> None:
        """A console error containing `text` is part of what the test checks (e.g. a 422 page load)."""
        self.expected.append(text)

    def watch(self, page: Any) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        page.on("dialog", self._on_dialog)

    def _on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "") if message.location else ""
        if where.startswith(BLOCKED_ORIGINS) or any(origin in message.text for origin in BLOCKED_ORIGINS):
            return
        if any(text in message.text for text in self.expected):
            return
        self.console_errors.append(f"{where}: {message.text}")

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def problems(self) -> list[str]:
        return ([f"console error: {e}" for e in self.console_errors]
                + [f"uncaught page error: {e}" for e in self.page_errors])


def open_context(browser: Any, **context_options: Any) -> Any:
    """A browser context (options as for `browser.new_context`) whose pages fail fast, note when htmx has
    started and never reach third-party origins (aborted at once)."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.add_init_script(HTMX_STARTED_SCRIPT)  # see wait_for_htmx_started
    for origin in BLOCKED_ORIGINS:
        context.route(f"{origin}**", lambda route: route.abort())
    return context


def serious_a11y_violations(page: Any) -> list[dict]:
    """axe-core's violations of impact serious or critical on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in SERIOUS_IMPACTS]


def assert_no_serious_a11y_violations(page: Any) -> None:
    """Fail listing every serious or critical axe-core violation, with the elements concerned."""
    violations = serious_a11y_violations(page)
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:5])
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{targets}] {v['helpUrl']}")
    assert not violations, f"axe found {len(violations)} serious/critical violation(s) on {page.url}:\n" + "\n".join(
        lines)


def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    """Sign in through the /login form as a person would: type the e-mail and password, press Sign in."""
    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if page.url.startswith(f"{base_url}/login"):
        raise AssertionError(f"signing in as {email} failed: {page.locator('main').inner_text()}")


def wait_for_htmx_started(page: Any) -> None:
    """Wait until htmx has processed the page and taken over history (the back button), not only loaded."""
    page.wait_for_function("() => window.vocHtmxStarted === true")
