"""Tasks for the worker tests, importable by a real worker process (``tests.worker_tasks``)."""

import time
from pathlib import Path

from django_tasks import task

from mesads.core.workers import retry_when_interrupted


def _runs(marker: str) -> int:
    """Record one more run in the marker file; returns how many runs there were."""
    path = Path(marker)
    with path.open("a") as file:
        file.write("run\n")
    return len(path.read_text().splitlines())


@task()
def nap(marker: str, seconds: float) -> int:
    """Not safe to run twice: a worker killed during it leaves it interrupted."""
    runs = _runs(marker)
    time.sleep(seconds)
    return runs


@retry_when_interrupted
@task()
def nap_once(marker: str, seconds: float) -> int:
    """Safe to run again: sleeps on its first run only."""
    runs = _runs(marker)
    if runs == 1:
        time.sleep(seconds)
    return runs
