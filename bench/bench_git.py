"""git over HTTP: clone time against a clone from disk, and push latency.

    python bench/bench_git.py --corpus DIR/c20k

The reference is ``git clone --no-local`` of the same bare repository (upload-pack
over a pipe, no hardlinks): what remains is the client's own ``index-pack``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import served_trousse, summary, trousse  # noqa: E402

AUTHOR = {
    "GIT_AUTHOR_NAME": "Banc",
    "GIT_AUTHOR_EMAIL": "banc@example.org",
    "GIT_COMMITTER_NAME": "Banc",
    "GIT_COMMITTER_EMAIL": "banc@example.org",
}


def git(*args: str, cwd: Path | None = None) -> float:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **AUTHOR}
    started = time.perf_counter()
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"git {args[0]} failed: {result.stderr.decode(errors='replace')}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pushes", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="trousse-git-bench-"))
    try:
        # A benchmark pushes faster than the default limit allows.
        with served_trousse(args.corpus, settings={"TROUSSE_LIMITS_PUSHES_PER_MINUTE": "10000"}) as (base, data, import_seconds):
            print(f"import (init --from, with repack and bitmaps): {import_seconds:.1f} s")
            http_times, disk_times = [], []
            for n in range(args.rounds):
                disk_times.append(git("clone", "-q", "--bare", "--no-local", str(data / "wiki.git"), str(work / f"disk-{n}.git")))
                http_times.append(git("clone", "-q", "--bare", f"{base}/wiki.git", str(work / f"http-{n}.git")))
                shutil.rmtree(work / f"disk-{n}.git")
                shutil.rmtree(work / f"http-{n}.git")
            disk, http = sorted(disk_times)[len(disk_times) // 2], sorted(http_times)[len(http_times) // 2]
            print(f"clone --no-local from disk: median {disk:.2f} s  ({', '.join(f'{t:.2f}' for t in disk_times)})")
            print(f"clone over HTTP:            median {http:.2f} s  ({', '.join(f'{t:.2f}' for t in http_times)})")
            print(f"ratio HTTP / disk: {http / disk:.2f}")
            token = trousse(data, "token", "create", "bench").strip().splitlines()[-1]
            remote = base.replace("http://", f"http://bench:{token}@") + "/wiki.git"
            clone = work / "work"
            git("clone", "-q", f"{base}/wiki.git", str(clone))
            push_times = []
            for n in range(args.pushes):
                (clone / "guides" / f"banc-{n}.md").write_text(f"# Banc {n}\n\nPoussé depuis git.\n", encoding="utf-8")
                git("add", "-A", cwd=clone)
                git("commit", "-q", "-m", f"banc {n}", cwd=clone)
                push_times.append(git("push", "-q", remote, "main", cwd=clone) * 1000)
            print(f"push of one commit (checked, indexed, visible when it returns): {summary(push_times)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
