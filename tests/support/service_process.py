"""A real service process on loopback, for tests and the load benchmark.

:class:`ServiceProcess` runs ``python -m uvicorn crossmargin.service:create_app --factory`` on
127.0.0.1 and a free port with the given database and admin key (through the environment),
waits until ``GET /health`` answers, and terminates the process on :meth:`ServiceProcess.stop`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

__all__ = ["LOOPBACK", "ServiceProcess", "free_port"]

#: The only address these helpers use.
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


class ServiceProcess:
    """A uvicorn process serving :func:`crossmargin.service.create_app`.

    Parameters
    ----------
    database_url:
        The ledger's URL (``CROSSMARGIN_DATABASE_URL`` of the process).
    admin_key:
        ``CROSSMARGIN_ADMIN_KEY`` of the process; ``None`` removes it (the service then keeps a
        stored key or generates one and prints it to stdout, see :attr:`output_path`).
    environment:
        Further variables for the process.
    startup_timeout:
        Seconds to wait for ``/health``.
    secrets_dir:
        ``CROSSMARGIN_SECRETS_DIR`` of the process (the key-hashing secret and a generated admin
        key); default: a new temporary directory, removed by :meth:`stop`. Pass the same
        directory to restart a service on the same database.
    access_log:
        Run uvicorn with its access log at level ``info`` (default: warnings only, no access
        log).
    factory:
        The application factory uvicorn imports (``module:callable``).
    """

    def __init__(
        self,
        database_url: str,
        admin_key: str | None,
        environment: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        *,
        secrets_dir: Path | None = None,
        access_log: bool = False,
        factory: str = "crossmargin.service:create_app",
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.ws_url = f"ws://{LOOPBACK}:{self.port}"
        env = {**os.environ, **(environment or {})}
        env["CROSSMARGIN_DATABASE_URL"] = database_url
        env.pop("CROSSMARGIN_ADMIN_KEY", None)
        if admin_key is not None:
            env["CROSSMARGIN_ADMIN_KEY"] = admin_key
        env["PYTHONUNBUFFERED"] = "1"
        self._own_secrets = secrets_dir is None
        self.secrets_dir = secrets_dir or Path(tempfile.mkdtemp(prefix="crossmargin-secrets-"))
        env["CROSSMARGIN_SECRETS_DIR"] = str(self.secrets_dir)
        tests_dir = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), tests_dir) if p)
        handle, name = tempfile.mkstemp(prefix="crossmargin-service-", suffix=".log")
        os.close(handle)
        self.output_path = Path(name)
        self._final_output: str | None = None
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            *(
                ["--log-level", "info"]
                if access_log
                else ["--no-access-log", "--log-level", "warning"]
            ),
        ]
        with self.output_path.open("wb") as output:
            self._process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            self._wait_healthy(startup_timeout)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        """The process id."""
        return self._process.pid

    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        if self._final_output is not None:
            return self._final_output
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"service exited early:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as answer:
                    if json.load(answer).get("status") == "ok":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"service not healthy after {timeout} s:\n{self.output()}")

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after ``timeout`` seconds); its output
        stays readable through :meth:`output`, the log file is removed."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._final_output is None:
            self._final_output = self.output()
            self.output_path.unlink(missing_ok=True)
            if self._own_secrets:
                shutil.rmtree(self.secrets_dir, ignore_errors=True)

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
