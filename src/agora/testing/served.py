"""A real ``agora serve`` on the demo marketplace, for end-to-end browser tests.

What ``make run`` does, in a temporary data folder on a free port: ``agora
demo`` (loaded, processed and trained), then ``agora serve`` in its own process
group, ready when ``/readyz`` answers 200. It then makes one API key per scope
through the keys API (``POST /api/v1/keys``) with the demo's admin key. Every
wait is on a condition with a generous deadline, and the server is always
stopped, whatever fails.

Example:
    >>> with served_demo(tmp_path) as served:  # doctest: +SKIP
    ...     httpx.get(f"{served.url}/api/v1/assets",
    ...               headers={"Authorization": f"Bearer {served.tokens['read']}"})
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agora.testing.net import free_port
from agora.testing.processes import running, tail
from agora.testing.wait import PROCESS_START_S, wait_until

# The demo trains every model: minutes beside a CPU burner on a busy 2-core box.
DEMO_DEADLINE_S = 900.0
SCOPES = ("read", "write", "moderator", "admin")


@dataclass(frozen=True)
class ServedDemo:
    """A running server on the demo data: where it is and one key per scope."""

    url: str
    data_dir: Path
    log: Path
    tokens: dict[str, str]
    """``read``, ``write``, ``moderator``, ``admin`` (made through the keys API),
    and ``demo-admin`` (the key ``agora demo`` saved)."""

    def headers(self, scope: str) -> dict[str, str]:
        """The ``Authorization`` header of the key for ``scope``."""
        return {"Authorization": f"Bearer {self.tokens[scope]}"}


def _agora() -> str:
    # The console script beside this interpreter (the project's virtualenv).
    return str(Path(sys.executable).parent / "agora")


@contextmanager
def served_demo(
    workdir: Path,
    *,
    demo_args: Sequence[str] = (),
    demo_from: Path | None = None,
    env: dict[str, str] | None = None,
    demo_deadline_s: float = DEMO_DEADLINE_S,
    start_deadline_s: float = PROCESS_START_S,
) -> Iterator[ServedDemo]:
    """Load the demo into ``workdir/agora``, serve it on 127.0.0.1, yield it.

    ``demo_from`` copies a data folder an earlier ``agora demo`` made (and no
    process is using) instead of loading it again: minutes saved while
    iterating on a test. ``env`` adds settings (``AGORA_...``) for both the
    demo and the server."""
    data = workdir / "agora"
    log = workdir / "serve.log"
    child_env = os.environ | {"AGORA_DATA_DIR": str(data), "AGORA_SERVER__LOG_JSON": "false"}
    child_env |= env or {}
    for inherited in ("AGORA_URL", "AGORA_KEY"):  # the tests' own, never a user's
        child_env.pop(inherited, None)
    if demo_from is not None:
        shutil.copytree(demo_from, data)
    else:
        demo = subprocess.run(
            [_agora(), "demo", *demo_args],
            env=child_env,
            capture_output=True,
            text=True,
            timeout=demo_deadline_s,
            check=False,
        )
        output = demo.stdout[-3000:] + demo.stderr[-3000:]
        assert demo.returncode == 0, f"agora demo failed:\n{output}"
    demo_admin = (data / "demo-admin-key.txt").read_text().strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [_agora(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(argv, env=child_env, log=log) as proc:

        def exited() -> str | None:
            code = proc.poll()
            return None if code is None else f"agora serve exited {code}:\n{tail(log)}"

        wait_until(
            lambda: httpx.get(f"{url}/readyz", timeout=10).status_code == 200,
            timeout_s=start_deadline_s,
            what=f"agora serve at {url} to be ready",
            interval_s=0.25,
            alive=exited,
            ignore=(httpx.TransportError,),
        )
        tokens = {"demo-admin": demo_admin}
        with httpx.Client(base_url=url, timeout=60) as client:
            for scope in SCOPES:
                made = client.post(
                    "/api/v1/keys",
                    json={"scopes": [scope], "name": f"e2e-{scope}"},
                    headers={"Authorization": f"Bearer {demo_admin}"},
                )
                assert made.status_code == 201, made.text
                tokens[scope] = made.json()["token"]
        yield ServedDemo(url=url, data_dir=data, log=log, tokens=tokens)
