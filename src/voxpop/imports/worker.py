"""The worker process of a big import: `python -m voxpop.imports.worker` reads a job from stdin and writes its
results, pickled, to stdout: the parsed batches of an import (batches.py), or the column profiles of the
second half of a file (scan.py).

A plain child process, not multiprocessing: that would re-run the caller's script in the child, and forking a
threaded web server is unsafe.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def started(*job) -> Iterator[subprocess.Popen]:
    """A worker process given `job` (its name, then its arguments); read its results from `.stdout`. It is
    stopped when the block ends, also early."""
    worker = subprocess.Popen([sys.executable, "-m", "voxpop.imports.worker"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        pickle.dump(job, worker.stdin)
        worker.stdin.close()
        yield worker
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait()
        worker.stdout.close()


if __name__ == "__main__":
    from voxpop.imports.batches import serve
    from voxpop.imports.scan import serve_profiles

    # Parsing yields the CPU to the server's requests (on a 2-core machine the import would take a core from
    # them); the writing process keeps its priority, as it holds the store's lock while it runs.
    if hasattr(os, "nice"):
        os.nice(10)
    # The results get the real stdout to themselves; anything printed goes to stderr instead of into them.
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    job, *arguments = pickle.load(sys.stdin.buffer)
    if job == "profile":
        pickle.dump(serve_profiles(*arguments), results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()
    else:
        serve(*arguments, results)
