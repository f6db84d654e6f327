"""Theme discovery on untagged comments: TF-IDF with non-negative matrix factorisation (Lee & Seung 1999), or
sentence embeddings clustered with k-means when the optional extra is installed (voxpop.text.embeddings).

Either way a proposal names its top TF-IDF terms and the comments most typical of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.cluster import KMeans
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


def distinct_examples(comments: Sequence[str], ranked, examples: int) -> tuple[str, ...]:
    """The first `examples` different comments in ranked order: the same stock phrase three times shows nothing."""
    found: dict[str, None] = {}
    for index in ranked:
        found.setdefault(comments[index].strip(), None)
        if len(found) == examples:
            break
    return tuple(found)


def tfidf(comments: Sequence[str]):
    """TF-IDF weights of comments' words and word pairs and the vocabulary, or None when no term is left."""
    # min_df=2 drops one-off words (and most typos and names); max_df=0.5 drops words every comment uses.
    vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2, max_df=0.5,
                                 sublinear_tf=True, max_features=20_000)
    try:
        weights = vectorizer.fit_transform(comments)
    except ValueError:  # no term left after the filters
        return None
    return weights, vectorizer.get_feature_names_out()


def propose_themes(
    comments: Sequence[str], *, themes: int = 8, terms: int = 8, examples: int = 3,
    method: Literal["nmf", "embeddings"] = "nmf",
) -> list[ThemeProposal]:
    """Proposals from comments no theme tagged, largest first; none when there is too little text.

    method="embeddings" needs the voxpop[embeddings] extra and raises EmbeddingsUnavailable without it.
    """
    if method == "embeddings":
        from voxpop.text.embeddings import embed

        return cluster_themes(comments, embed(comments), themes=themes, terms=terms, examples=examples)
    found = tfidf(comments)
    if found is None:
        return []
    weights, vocabulary = found
    components = min(themes, weights.shape[0] - 1, weights.shape[1] - 1)
    if components < 1:
        return []
    model = NMF(n_components=components, init="nndsvd", random_state=RANDOM_STATE, max_iter=1000)
    comment_weights = model.fit_transform(weights)
    best = comment_weights.argmax(axis=1)
    described = comment_weights.max(axis=1) > 0
    proposals = []
    for component, term_weights in enumerate(model.components_):
        members = np.flatnonzero((best == component) & described)
        if members.size == 0:
            continue
        typical = members[np.argsort(-comment_weights[members, component], kind="stable")]
        top = np.argsort(-term_weights, kind="stable")[:terms]
        proposals.append(ThemeProposal(tuple(vocabulary[top]), int(members.size),
                                       distinct_examples(comments, typical, examples)))
    return sorted(proposals, key=lambda proposal: -proposal.size)


def cluster_themes(
    comments: Sequence[str], vectors: np.ndarray, *, themes: int = 8, terms: int = 8, examples: int = 3
) -> list[ThemeProposal]:
    """Proposals from k-means clusters of unit-length comment vectors, largest first.

    A cluster's terms are those whose mean TF-IDF weight in it most exceeds their mean over all comments; its
    examples are the comments closest to its centre.
    """
    found = tfidf(comments)
    clusters = min(themes, len(comments) - 1)
    if found is None or clusters < 1:
        return []
    weights, vocabulary = found
    kmeans = KMeans(n_clusters=clusters, n_init=10, random_state=RANDOM_STATE).fit(vectors)
    overall = np.asarray(weights.mean(axis=0)).ravel()
    proposals = []
    for cluster, centre in enumerate(kmeans.cluster_centers_):
        members = np.flatnonzero(kmeans.labels_ == cluster)
        distinctive = np.asarray(weights[members].mean(axis=0)).ravel() - overall
        top = [index for index in np.argsort(-distinctive, kind="stable")[:terms] if distinctive[index] > 0]
        if not top:
            continue
        typical = members[np.argsort(-(vectors[members] @ centre), kind="stable")]
        proposals.append(ThemeProposal(tuple(vocabulary[top]), int(members.size),
                                       distinct_examples(comments, typical, examples)))
    return sorted(proposals, key=lambda proposal: -proposal.size)
