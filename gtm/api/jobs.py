"""`POST /sync/...`: one sync + build at a time, in a background thread, under the warehouse's run lock."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from typing import Any

from gtm.api.db import Access
from gtm.api.errors import ApiError
from gtm.errors import GtmError, redact
from gtm.lock import lock_holder, run_lock
from gtm.settings import Settings

KEEP_JOBS = 20


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class SyncJobs:
    def __init__(self, settings: Settings, access: Access) -> None:
        self.settings, self.access = settings, access
        self.jobs: list[dict[str, Any]] = []
        self._guard = threading.Lock()

    def running(self) -> dict[str, Any] | None:
        return next((job for job in self.jobs if job["status"] == "running"), None)

    def start(self, sources: list[str], who: str) -> dict[str, Any]:
        """Start a job, or 409 when one runs (here or in any other process holding the run lock)."""
        with self._guard:
            current = self.running()
            if current is not None:
                raise ApiError(
                    409, "sync_running", f"sync job {current['id']} is running; see GET /sync/status"
                )
            job = {
                "id": uuid.uuid4().hex[:12],
                "sources": sources or "all",
                "requested_by": who,
                "status": "running",
                "started_at": _now(),
                "finished_at": None,
                "error": None,
            }
            self.jobs = [job, *self.jobs][:KEEP_JOBS]
        locked = threading.Event()
        refusal: list[str] = []
        threading.Thread(target=self._run, args=(job, locked, refusal), daemon=True).start()
        locked.wait()
        if refusal:
            with self._guard:
                self.jobs.remove(job)
            raise ApiError(409, "sync_running", refusal[0])
        return job

    def _run(self, job: dict[str, Any], locked: threading.Event, refusal: list[str]) -> None:
        from gtm.build import build
        from gtm.sync import run_sync

        try:
            command = f"sync {','.join(job['sources']) if job['sources'] != 'all' else 'all'} (API)"
            with run_lock(self.settings, command):
                locked.set()
                with self.access.exclusive():
                    results = run_sync(self.settings, [] if job["sources"] == "all" else job["sources"])
                    build(self.settings)
            failed = [r for r in results if r.status == "failed"]
            job["status"] = "failed" if failed else "success"
            job["error"] = "; ".join(r.error or r.source for r in failed) or None
        except GtmError as exc:
            if not locked.is_set():
                refusal.append(redact(str(exc)))
            job["status"], job["error"] = "failed", redact(str(exc))
        except Exception as exc:  # noqa: BLE001 - the job's outcome is one line in /sync/status
            first = (str(exc).strip().splitlines() or [""])[0]
            job["status"], job["error"] = "failed", redact(f"{type(exc).__name__}: {first}")
        finally:
            job["finished_at"] = _now()
            locked.set()
            self.access.flush()

    def status(self) -> dict[str, Any]:
        holder = lock_holder(self.settings)
        return {"job": self.running(), "recent_jobs": self.jobs, "run_lock_holder": holder}
