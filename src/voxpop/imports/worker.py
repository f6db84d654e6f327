"""The parsing worker of a big import (see batches.py): `python -m voxpop.imports.worker` reads the import
from stdin and writes its parsed batches, pickled, to stdout."""

from __future__ import annotations

import os
import sys

from voxpop.imports.batches import serve

if __name__ == "__main__":
    # The batches get the real stdout to themselves; anything printed goes to stderr instead of into them.
    batches = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, batches)
