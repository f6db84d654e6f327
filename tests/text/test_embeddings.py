"""The optional embeddings extra: offline sentence vectors, clustering into theme proposals, and a clear message
when it is not installed. The model tests run where voxpop[embeddings] is installed and skip elsewhere."""

import subprocess
import sys
from importlib.util import find_spec

import numpy as np
import pytest

from tests.text.test_discovery import COMMENTS
from voxpop.text.discovery import cluster_themes, propose_themes
from voxpop.text.embeddings import EmbeddingsUnavailable, embed, embeddings_available

installed = find_spec("sentence_transformers") is not None
needs_extra = pytest.mark.skipif(not installed, reason="sentence_transformers is not importable: install "
                                 "voxpop[embeddings] (with -c constraints/embeddings.txt) to run the model tests")


def test_clusters_of_vectors_become_proposals_with_terms_and_typical_examples():
    # Two tight groups of directions stand in for the model: parking comments and music comments.
    rng = np.random.default_rng(0)
    centres = {"parking": np.eye(4)[0], "music": np.eye(4)[1]}
    vectors = np.array([centres["parking" if "parking" in comment else "music"] + rng.normal(0, 0.05, 4)
                        for comment in COMMENTS])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    proposals = cluster_themes(COMMENTS, vectors, themes=2, terms=3, examples=2)
    assert sorted(proposal.size for proposal in proposals) == [12, 12]
    for proposal in proposals:
        word = "parking" if "parking" in proposal.terms else "music"
        assert word in proposal.terms and all(word in example for example in proposal.examples)


def test_too_little_text_gives_no_clusters():
    assert cluster_themes(["one comment"], np.ones((1, 4))) == []


def test_the_default_install_never_imports_torch():
    code = ("import sys, voxpop.text, voxpop.text.discovery, voxpop.text.embeddings; "
            "voxpop.text.analyze_comments(['The staff were lovely']); "
            "voxpop.text.discovery.propose_themes(['a parking lot', 'the parking lot', 'loud music', 'the music']); "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


@pytest.mark.skipif(installed, reason="voxpop[embeddings] is installed here, so there is no missing-extra message")
def test_without_the_extra_the_message_says_what_to_install():
    assert not embeddings_available()
    with pytest.raises(EmbeddingsUnavailable, match=r"install voxpop\[embeddings\]"):
        embed(["a comment"])
    with pytest.raises(EmbeddingsUnavailable, match=r"install voxpop\[embeddings\]"):
        propose_themes(COMMENTS, method="embeddings")


@needs_extra
def test_embeddings_are_unit_vectors_that_put_like_with_like():
    assert embeddings_available()
    vectors = embed(["The parcel arrived two weeks late", "My delivery came very late", "The staff were so kind"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert embed([]).shape == (0, 384)


@needs_extra
def test_discovery_with_embeddings_finds_the_themes():
    proposals = propose_themes(COMMENTS, themes=2, terms=3, examples=2, method="embeddings")
    assert {"parking", "music"} <= {term for proposal in proposals for term in proposal.terms}
    assert propose_themes(COMMENTS, themes=2, method="embeddings") == propose_themes(COMMENTS, themes=2,
                                                                                     method="embeddings")
