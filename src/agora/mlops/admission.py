"""Whether this process takes new tasks, and which tasks it runs now.

One :class:`TaskAdmission` per process (``Platform.task_admission``) is shared
by every :class:`agora.mlops.orchestrator.Orchestrator` it builds: the API's
routers build one per request, the in-process workers their own runners, so a
shutdown asked through one must close the door and drain the others' runners.
The queue itself is the job table, shared by every process; a shutdown drains
*this* process (its runners stop claiming; queued tasks stay queued for a
process that is still open, or for this one after a restart).

A runner *enters* before it claims (under the lock, refused once closed) and
*leaves* when its task ends, so no task can be claimed after :meth:`close`
and :meth:`wait_idle` cannot return while one is between claim and run.

Example:
    >>> adm = TaskAdmission()
    >>> adm.enter(), adm.running_count()
    (True, 1)
    >>> adm.close(); adm.enter()
    False
    >>> adm.leave(); adm.wait_idle(0.1)
    True
"""

from __future__ import annotations

import threading
import time


class TaskAdmission:
    """An open/closed door and a count of tasks in flight in this process."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = True
        self._in_flight = 0
        self._running: set[str] = set()

    def accepting(self) -> bool:
        """Whether new tasks may be submitted and claimed here."""
        with self._cond:
            return self._open

    def close(self) -> None:
        """Refuse new submissions and claims from now on."""
        with self._cond:
            self._open = False
            self._cond.notify_all()

    def reopen(self) -> None:
        """Take tasks again (a process start after a shutdown)."""
        with self._cond:
            self._open = True

    def enter(self) -> bool:
        """Count one runner about to claim; False (nothing counted) once closed."""
        with self._cond:
            if not self._open:
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        """The runner that entered has no task any more (none claimed, or it ended)."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify_all()

    def started(self, job_id: str) -> None:
        """Task ``job_id`` runs in this process now."""
        with self._cond:
            self._running.add(job_id)

    def ended(self, job_id: str) -> None:
        """Task ``job_id`` ended (any outcome)."""
        with self._cond:
            self._running.discard(job_id)

    def running_ids(self) -> list[str]:
        """The tasks this process runs now."""
        with self._cond:
            return sorted(self._running)

    def running_count(self) -> int:
        """Runners between claim and the end of their task."""
        with self._cond:
            return self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no runner holds a task (at most ``timeout`` s); True when idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True
