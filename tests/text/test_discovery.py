"""Theme discovery proposes readable, repeatable themes from untagged comments."""

import pytest

from voxpop.text.codebook import codebook_from_dict, tag_comment
from voxpop.text.discovery import propose_themes

# The repeated toy comments make NMF stop at its iteration cap without harm to the proposals.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

COMMENTS = [f"the {thing} {verb}" for thing, verb in [
    ("parking lot", "was full"), ("parking spaces", "were full"), ("parking", "was impossible"),
    ("music", "was too loud"), ("loud music", "hurt my ears"), ("music volume", "was loud"),
    ("parking garage", "was closed"), ("background music", "was loud"),
]] * 3


def test_proposals_have_top_terms_sizes_and_examples():
    proposals = propose_themes(COMMENTS, themes=2, terms=3, examples=2)
    assert [proposal.size for proposal in proposals] == [12, 12]
    assert {"parking", "music"} <= {term for proposal in proposals for term in proposal.terms}
    assert all(len(proposal.examples) == 2 and proposal.terms[0] in proposal.examples[0] for proposal in proposals)


def test_discovery_is_deterministic():
    assert propose_themes(COMMENTS, themes=3) == propose_themes(COMMENTS, themes=3)


def test_too_little_text_gives_no_proposals():
    assert propose_themes([]) == [] and propose_themes(["just one comment"]) == []


def test_an_accepted_proposal_tags_like_any_theme():
    proposal = propose_themes(COMMENTS, themes=2)[0]
    codebook = codebook_from_dict({"themes": [proposal.as_codebook_theme("proposed")]})
    assert [tag.theme for tag in tag_comment(codebook, proposal.examples[0])] == ["proposed"]
