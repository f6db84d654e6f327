"""The worker process of a big import: `python -m voxpop.imports.worker` reads a job from stdin and writes its
results, pickled, to stdout: the parsed batches of an import (batches.py), or the column profiles of the
second half of a file (scan.py)."""

from __future__ import annotations

import os
import pickle
import sys

from voxpop.imports.batches import serve
from voxpop.imports.scan import serve_profiles

if __name__ == "__main__":
    # The batches get the real stdout to themselves; anything printed goes to stderr instead of into them.
    batches = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    job, *arguments = pickle.load(sys.stdin.buffer)
    if job == "profile":
        pickle.dump(serve_profiles(*arguments), batches, protocol=pickle.HIGHEST_PROTOCOL)
        batches.flush()
    else:
        serve(*arguments, batches)
