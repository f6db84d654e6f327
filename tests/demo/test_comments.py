"""The demo's comments read like real feedback: varied, of every length, in the respondent's language, about the
default codebook's themes, with a tone that follows the score."""

import random
import statistics

import pytest

from voxpop.demo.comments import SHORT_WORDS, SPECIFICS, SUBJECTS, TOPICS_DE, TOPICS_EN, comment
from voxpop.text.language import detect_language
from voxpop.text.pipeline import analyze_comment

GROUPS = ("detractor", "passive", "promoter")
# The default codebook's theme each topic's clauses are about.
THEMES = {"delivery": "delivery", "quality": "quality", "price": "price", "staff": "staff", "support": "staff",
          "app": "app_website", "signup": "app_website", "returns": "returns_refunds", "wait": "wait_time"}


def many(seed=11, rounds=200, **options):
    rng = random.Random(seed)
    return [(survey, group, comment(rng, survey=survey, group=group, **options))
            for _ in range(rounds) for survey in SUBJECTS for group in GROUPS]


def test_comments_are_varied_and_of_every_length():
    texts = [text for _, _, text in many()]
    assert len(set(texts)) >= 0.7 * len(texts) == 0.7 * 1800
    words = [len(text.split()) for text in texts]
    assert min(words) <= 3 and max(words) >= 35 and 12 <= statistics.median(words) <= 25
    assert sum(count <= 6 for count in words) >= 0.1 * len(texts)  # "Fast delivery!"
    assert sum(text.count(". ") >= 2 for text in texts) >= 0.1 * len(texts)  # three sentences and more
    assert sum(", but " in text for text in texts) >= 0.2 * len(texts)  # "Friendly staff, but ..."


def test_a_seed_gives_the_same_comments():
    assert many(seed=3, rounds=20) == many(seed=3, rounds=20)
    assert many(seed=3, rounds=20) != many(seed=4, rounds=20)


def test_the_tone_follows_the_score():
    scores = {group: [] for group in GROUPS}
    for _, group, text in many(rounds=60):
        scores[group].append(analyze_comment(text).sentiment.score)
    detractors, passives, promoters = (statistics.mean(scores[group]) for group in GROUPS)
    assert detractors < -0.2 and promoters > 0.3 and detractors < passives < promoters
    assert sum(score < 0 for score in scores["detractor"]) >= 0.7 * len(scores["detractor"])
    assert sum(score > 0 for score in scores["promoter"]) >= 0.8 * len(scores["promoter"])


@pytest.mark.parametrize("topic", sorted(TOPICS_EN))
def test_each_topic_is_about_its_codebook_theme(topic):
    for clause in (*TOPICS_EN[topic][0], *TOPICS_EN[topic][1]):
        text = clause.format_map({name: values[0] for name, values in SPECIFICS.items()})
        assert THEMES[topic] in {tag.theme.split(".")[0] for tag in analyze_comment(text).tags}, text


@pytest.mark.parametrize("topics", [TOPICS_EN, TOPICS_DE], ids=["en", "de"])
def test_every_topic_has_a_short_clause_either_way(topics):
    for good, bad in topics.values():
        assert all(any(len(clause.split()) <= SHORT_WORDS for clause in side) for side in (good, bad))


def test_german_respondents_write_german():
    texts = [text for _, _, text in many(rounds=30, language="de")]
    languages = [detect_language(text).code for text in texts]
    assert languages.count("de") >= 0.95 * len(texts) and len(set(texts)) >= 0.6 * len(texts)
