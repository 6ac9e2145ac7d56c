"""A real Home Assistant process on loopback, driven through its REST API."""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
import subprocess
import sys
import time
from typing import IO, Any
import urllib.error
import urllib.parse
import urllib.request

from tests.simulator.server import free_loopback_port

INTEGRATION = Path(__file__).parents[2] / "custom_components" / "printernizer_usage"
# Every wait is a hang guard, not a speed limit: a start takes seconds, and
# only a process that hangs gets anywhere near this on a loaded machine.
HANG_GUARD = 600.0
OWNER_USERNAME = "owner"
OWNER_PASSWORD = "e2e-password-not-secret"  # noqa: S105 - a throw-away test owner


class HomeAssistantError(AssertionError):
    """Home Assistant answered with an unexpected status."""


@dataclass
class Response:
    """Status, headers and body of one answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class HomeAssistantProcess:
    """`python -m homeassistant` with this integration linked into its config."""

    config_dir: Path
    port: int = field(default_factory=free_loopback_port)
    token: str | None = None
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the base URL Home Assistant listens on."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Return the file that collects Home Assistant's output."""
        return self.config_dir.parent / "home-assistant.out"

    def write_config(self) -> None:
        """Write the smallest configuration the REST API needs, and link us in."""
        (self.config_dir / "custom_components").mkdir(parents=True, exist_ok=True)
        (self.config_dir / "custom_components" / INTEGRATION.name).symlink_to(
            INTEGRATION
        )
        (self.config_dir / "configuration.yaml").write_text(
            "http:\n"
            "  server_host: 127.0.0.1\n"
            f"  server_port: {self.port}\n"
            "onboarding:\n"
            "config:\n"
            "api:\n"
            "logger:\n"
            "  default: info\n"
            "  logs:\n"
            "    custom_components.printernizer_usage: debug\n",
            encoding="utf-8",
        )

    def start(self) -> None:
        """Start Home Assistant and wait until its HTTP server answers."""
        self._log = self.log_path.open("ab")
        # --skip-pip: nothing is installed at run time; the test venv has it all.
        command = [sys.executable, "-m", "homeassistant", "--skip-pip"]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter
            [*command, "-c", str(self.config_dir)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + HANG_GUARD
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"Home Assistant exited with {self.process.returncode}"
                raise HomeAssistantError(msg)
            if "Activating recovery mode" in self.log():
                msg = f"Home Assistant started in recovery mode; see {self.log_path}"
                raise HomeAssistantError(msg)
            try:
                # Answers once the core has started, with or without a user.
                self.request("GET", "/api/onboarding", auth=False)
            except (OSError, HomeAssistantError):
                time.sleep(0.5)
                continue
            return
        msg = (
            f"Home Assistant did not answer GET /api/onboarding within {HANG_GUARD} s"
            f" of starting; see {self.log_path}"
        )
        raise HomeAssistantError(msg)

    def wait_for_exit(self) -> int:
        """Wait for the process to end by itself; return its exit status."""
        assert self.process is not None
        status = self.process.wait(timeout=HANG_GUARD)
        self._close_log()
        return status

    def stop(self) -> int:
        """Stop Home Assistant as a service manager would; return its exit status."""
        assert self.process is not None
        self.process.terminate()
        return self.wait_for_exit()

    def kill(self) -> None:
        """Make sure no process is left, whatever happened."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        """Return everything Home Assistant wrote."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        auth: bool = True,
        form: dict[str, str] | None = None,
    ) -> Response:
        """Send one request; a status of 400 or more raises."""
        headers: dict[str, str] = {}
        data: bytes | None = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            assert self.token is not None, "onboard first"
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            self.url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=HANG_GUARD) as answer:  # noqa: S310
                return Response(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as err:
            msg = f"{method} {path}: {err.code} {err.read()[:500]!r}"
            raise HomeAssistantError(msg) from err

    def onboard(self) -> None:
        """Create the owner through onboarding and keep an access token."""
        client_id = f"{self.url}/"
        created = self.request(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": "Owner",
                "username": OWNER_USERNAME,
                "password": OWNER_PASSWORD,
                "language": "en",
            },
            auth=False,
        ).json()
        tokens = self.request(
            "POST",
            "/auth/token",
            auth=False,
            form={
                "grant_type": "authorization_code",
                "code": created["auth_code"],
                "client_id": client_id,
            },
        ).json()
        self.token = tokens["access_token"]

    def finish_onboarding(self) -> None:
        """Finish the onboarding steps after the owner, so the frontend skips them."""
        redirect = f"{self.url}/?auth_callback=1"
        self.request("POST", "/api/onboarding/core_config", {})
        self.request("POST", "/api/onboarding/analytics", {})
        self.request(
            "POST",
            "/api/onboarding/integration",
            {"client_id": f"{self.url}/", "redirect_uri": redirect},
        )

    def flow(self, path: str, handler: str, *answers: dict[str, Any]) -> Any:
        """Start a config or options flow and give it each answer in turn."""
        result = self.request("POST", path, {"handler": handler}).json()
        for answer in answers:
            assert result["type"] in ("form", "menu"), result
            result = self.request("POST", f"{path}/{result['flow_id']}", answer).json()
        return result

    def call(self, domain: str, service: str, **data: Any) -> Any:
        """Call an action and return its response."""
        answer = self.request(
            "POST", f"/api/services/{domain}/{service}?return_response", data
        ).json()
        return answer["service_response"]

    def render(self, template: str) -> Any:
        """Render a template that produces JSON, and parse it."""
        return self.request("POST", "/api/template", {"template": template}).json()

    def entries(self, domain: str) -> dict[str, dict[str, Any]]:
        """Return the config entries of a domain by entry id."""
        listed = self.request("GET", "/api/config/config_entries/entry").json()
        return {e["entry_id"]: e for e in listed if e["domain"] == domain}
