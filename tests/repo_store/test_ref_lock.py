"""The ref lock between processes: never stolen from a live writer, taken over at once from a dead one."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HOLD_MAIN_LOCK, PROJECT_ROOT

from repo_store import refs

NAME = "refs/heads/main"


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    (tmp_path / "refs" / "heads").mkdir(parents=True)
    (tmp_path / NAME).write_text("0" * 40 + "\n")
    return tmp_path


def test_a_live_writer_keeps_its_lock_and_a_dead_one_loses_it_at_once(repository):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD_MAIN_LOCK, str(repository)], stdout=subprocess.PIPE, env=env)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        head = refs.read_ref(repository, NAME)
        with pytest.raises(refs.RefLockTimeout):
            refs.compare_and_swap(repository, NAME, "2" * 40, head, wait_seconds=0.5)
        assert (repository / "refs" / "heads" / "main.lock").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    started = time.monotonic()
    assert refs.compare_and_swap(repository, NAME, "2" * 40, head, wait_seconds=5)
    assert time.monotonic() - started < 1, "the dead writer's lock was taken over at once"
    assert refs.read_ref(repository, NAME) == "2" * 40
    assert not (repository / "refs" / "heads" / "main.lock").exists()


def test_a_lock_git_holds_is_respected_until_it_is_old(repository):
    lock = repository / "refs" / "heads" / "main.lock"
    lock.write_text("3" * 40 + "\n")
    lock.chmod(0o755)  # some filesystems show every file as executable: that must mean nothing
    head = refs.read_ref(repository, NAME)
    with pytest.raises(refs.RefLockTimeout):
        refs.compare_and_swap(repository, NAME, "2" * 40, head, wait_seconds=0.3)
    old = time.time() - refs.STALE_LOCK_SECONDS - 5
    os.utime(lock, (old, old))
    assert refs.compare_and_swap(repository, NAME, "2" * 40, head, wait_seconds=1)


def _increment(repository: Path, seconds: float, results) -> None:
    acknowledged, errors = 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = refs.read_ref(repository, NAME)
        try:
            if refs.compare_and_swap(repository, NAME, f"{int(current, 16) + 1:040x}", current, fsync=False):
                acknowledged += 1
        except Exception as error:  # noqa: BLE001 - any error at all is what this test looks for
            errors.append(repr(error))
    results.put((acknowledged, errors))


@pytest.mark.slow
def test_writers_in_several_processes_never_lose_an_acknowledged_update(repository):
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=_increment, args=(repository, 4.0, results)) for _ in range(3)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join()
    assert all(not errors for _count, errors in outcomes), outcomes
    acknowledged = sum(count for count, _errors in outcomes)
    assert acknowledged > 0
    assert int(refs.read_ref(repository, NAME), 16) == acknowledged
    assert sorted(os.listdir(repository / "refs" / "heads")) == ["main"]
