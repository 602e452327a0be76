"""A throw-away PostgreSQL server in a temporary directory (unix socket only), for the
development server and for running the tests without an existing database."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from typing import List, Optional


def _bindir() -> str:
    for candidate in [os.path.dirname(shutil.which("initdb") or "")] + sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), reverse=True
    ):
        if candidate and os.access(os.path.join(candidate, "pg_ctl"), os.X_OK):
            return candidate
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found; install the postgresql package")


class TempPostgres:
    """`start()` returns a DSN; `stop()` stops the server and removes its directory. As
    root, the server runs as the `postgres` user (PostgreSQL refuses to run as root)."""

    def __init__(self, port: int = 54329) -> None:
        self.port = port
        self.dir: Optional[str] = None
        self.bindir = _bindir()

    def _run(self, args: List[str]) -> None:
        cmd = [os.path.join(self.bindir, args[0])] + args[1:]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> str:
        self.dir = tempfile.mkdtemp(prefix="recsys-pg.")
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, "data")
        self._run(["initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        self._start_server()
        return f"host={self.dir} port={self.port} user=postgres dbname=postgres"

    def _start_server(self) -> None:
        assert self.dir is not None
        data = os.path.join(self.dir, "data")
        opts = f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=off"
        self._run(["pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(self.dir, "log"), "-w", "start"])

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stops the server (fast: open connections are dropped) and starts it again with
        the same data, after `down_seconds`."""
        assert self.dir is not None
        self._run(["pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "fast", "-w", "stop"])
        time.sleep(down_seconds)
        self._start_server()

    def stop(self) -> None:
        if self.dir is None:
            return
        try:
            self._run(["pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
