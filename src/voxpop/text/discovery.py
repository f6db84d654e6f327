"""Theme discovery: TF-IDF and non-negative matrix factorisation (Lee & Seung 1999) on untagged comments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

RANDOM_STATE = 0


@dataclass(frozen=True)
class ThemeProposal:
    """A candidate theme: its top terms, how many comments it best describes, and the most typical of them."""

    terms: tuple[str, ...]
    size: int
    examples: tuple[str, ...]

    def as_codebook_theme(self, key: str, label: str | None = None) -> dict:
        """The proposal as a codebook theme definition, for a person to review and accept."""
        return {"key": key, "label": label or key.replace("_", " "), "phrases": list(self.terms)}


def propose_themes(
    comments: Sequence[str], *, themes: int = 8, terms: int = 8, examples: int = 3
) -> list[ThemeProposal]:
    """Proposals from comments no theme tagged, largest first; none when there is too little text."""
    # min_df=2 drops one-off words (and most typos and names); max_df=0.5 drops words every comment uses.
    vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2, max_df=0.5,
                                 sublinear_tf=True, max_features=20_000)
    try:
        weights = vectorizer.fit_transform(comments)
    except ValueError:  # no term left after the filters
        return []
    components = min(themes, weights.shape[0] - 1, weights.shape[1] - 1)
    if components < 1:
        return []
    model = NMF(n_components=components, init="nndsvd", random_state=RANDOM_STATE, max_iter=1000)
    comment_weights = model.fit_transform(weights)
    vocabulary = vectorizer.get_feature_names_out()
    best = comment_weights.argmax(axis=1)
    described = comment_weights.max(axis=1) > 0
    proposals = []
    for component, term_weights in enumerate(model.components_):
        members = np.flatnonzero((best == component) & described)
        if members.size == 0:
            continue
        typical = members[np.argsort(-comment_weights[members, component], kind="stable")][:examples]
        top = np.argsort(-term_weights, kind="stable")[:terms]
        proposals.append(ThemeProposal(tuple(vocabulary[top]), int(members.size),
                                       tuple(comments[index] for index in typical)))
    return sorted(proposals, key=lambda proposal: -proposal.size)
