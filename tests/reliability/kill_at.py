"""Run `gtm` and SIGKILL it at one point of a sync, as a crash would: `python kill_at.py STAGE N ARGS...`.

Stages: fetch (before the N-th HTTP request), normalize (as normalizing starts), load (right after the N-th
load job committed, before dlt recorded it), commit (after the load reached the warehouse, before the
package was archived locally), swap (just before a full refresh swaps its new dataset in).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

TARGETS: dict[str, tuple[str, str, bool]] = {
    # stage: (module and class or module, attribute, kill after the call instead of before it)
    "fetch": ("loaders.common:RetryingSession", "send", False),
    "normalize": ("dlt.normalize.normalize:Normalize", "spool_files", False),
    "load": ("dlt.common.destination.client:RunnableLoadJob", "run_managed", True),
    "commit": ("dlt.common.storages.load_storage:LoadStorage", "complete_load_package", False),
    "swap": ("gtm.sync:", "swap_dataset", False),
}


def owner_of(target: str) -> Any:
    module, _, name = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, name) if name else loaded


def killing(original: Callable[..., Any], nth: int, after: bool) -> Callable[..., Any]:
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        mine = calls  # load jobs run in threads: this call's number, not the latest one
        if mine == nth and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if mine == nth and after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


def main() -> None:
    stage, nth, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    target, attribute, after = TARGETS[stage]
    owner = owner_of(target)
    setattr(owner, attribute, killing(getattr(owner, attribute), nth, after))
    from gtm.cli import main as gtm_main

    sys.argv = ["gtm", *args]
    gtm_main()


if __name__ == "__main__":
    main()
