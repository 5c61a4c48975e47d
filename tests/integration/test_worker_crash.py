"""A worker killed in the middle of a step: another worker finishes the job.

Real servers: PostgreSQL catalog and Redis Streams bus; real worker processes
(`agora worker`). The first worker is SIGKILLed inside a slow step; the second
reclaims the pending delivery after the visibility timeout, skips the steps
the first one recorded, runs the rest once, and activates the asset.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from agora.config import Settings
from agora.runtime import Platform
from agora.storage.tables import ProcessingResultRow
from agora.testing.processes import running, tail
from agora.testing.wait import PROCESS_START_S, wait_until

# Two worker start-ups on a busy machine: generous deadlines, so a longer test timeout.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.process,
    pytest.mark.timeout(900),
]

SLOW_STEP = textwrap.dedent("""
    import os, time
    from pathlib import Path
    from agora.pipeline.base import Step, StepOutcome

    MARKS = Path(os.environ["SLOW_STEP_MARKS"])

    class SlowStep(Step):
        name, version, requires = "slow", "1", ("completeness",)

        def run(self, ctx):
            first = not MARKS.exists()
            with MARKS.open("a") as f:
                f.write(f"start {os.getpid()}\\n")
            time.sleep(60 if first else 0.2)  # the first worker is killed in here
            with MARKS.open("a") as f:
                f.write(f"end {os.getpid()}\\n")
            return StepOutcome(output={"slept": True})
""")


def _alive(proc: subprocess.Popen[bytes], log: Path) -> Callable[[], str | None]:
    """Give up waiting at once when the worker process died."""
    return lambda: None if proc.poll() is None else f"worker exited:\n{tail(log)}"


def test_killed_worker_job_is_finished_by_another(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    (tmp_path / "slow_step_plugin.py").write_text(SLOW_STEP)
    marks = tmp_path / "marks.txt"
    env = os.environ | {
        "AGORA_DATA_DIR": str(tmp_path / "agora"),
        "AGORA_CATALOG__URL": pg_url,
        "AGORA_BUS__URL": redis_url,
        "AGORA_BUS__VISIBILITY_TIMEOUT_S": "2",
        "AGORA_PIPELINE__EXTRA_STEPS": json.dumps(["slow_step_plugin:SlowStep"]),
        # The model steps (index, moderation, tagging) are not what this test is
        # about; without them the step set is the one the assertions name.
        "AGORA_PIPELINE__DISABLED_STEPS": json.dumps(
            [
                "index",
                "moderation",
                "tagging",
                "codereview",
                "duplicates",
                "models3d",
                "scan",
                "scores",
            ]
        ),
        # One process per worker: the test kills the process that holds the job.
        "AGORA_PIPELINE__WORKER_PROCESSES": "1",
        "AGORA_SERVER__LOG_JSON": "false",
        "SLOW_STEP_MARKS": str(marks),
        "PYTHONPATH": str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    settings = Settings.load(
        data_dir=tmp_path / "agora", catalog={"url": pg_url}, bus={"url": redis_url}
    )
    platform = Platform.build(settings)
    try:
        platform.people.upsert_seller("s1", {"name": "S"}, "test")
        created = platform.assets.create({"title": "Tank", "seller_id": "s1"}, [], [], "test")
        agora = str(Path(sys.executable).parent / "agora")
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        with running([agora, "worker"], env=env, log=first_log) as first:
            wait_until(
                lambda: marks.exists() and "start" in marks.read_text(),
                timeout_s=PROCESS_START_S,
                what="the first worker to enter the slow step",
                alive=_alive(first, first_log),
            )
            first.send_signal(signal.SIGKILL)
            first.wait(PROCESS_START_S)
        with running([agora, "worker"], env=env, log=second_log) as second:
            wait_until(
                lambda: platform.jobs.get(created.job_id)["status"] == "succeeded",
                # start-up, then the visibility timeout, then the remaining steps
                timeout_s=PROCESS_START_S,
                what="the second worker to finish the job",
                alive=_alive(second, second_log),
            )

        lines = marks.read_text().split()
        assert lines.count("start") == 2, lines  # started by both workers...
        assert lines.count("end") == 1, lines  # ...but applied once
        assert f"{second.pid}" in marks.read_text().splitlines()[-1]
        with platform.db.session() as s:
            rows = list(
                s.scalars(
                    select(ProcessingResultRow).where(ProcessingResultRow.job_id == created.job_id)
                )
            )
        steps = [r.step for r in rows]
        assert sorted(steps) == ["completeness", "integrity", "slow"]  # one row per step
        by_step = {r.step: r.worker for r in rows}
        # The steps the killed worker recorded were not redone by the second one.
        assert by_step["integrity"].endswith(f":{first.pid}")
        assert by_step["completeness"].endswith(f":{first.pid}")
        assert by_step["slow"].endswith(f":{second.pid}")
        assert platform.assets.get(created.asset_id)["status"] == "active"
        # Settled once: one asset.processed event and one audit entry for it.
        assert platform.bus.depth("asset.processed", "probe") == 1
        audit = platform.audit.query(subject_id=created.asset_id, action="asset.processed")
        assert len(audit.entries) == 1
    finally:
        platform.close()
