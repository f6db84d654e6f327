"""Text pipeline throughput: redaction, language, sentiment and codebook tagging against plain VADER alone.

Comments are generated from a seeded mix of customer-feedback sentences: one to four sentences each, 5%
carrying an e-mail address, phone or card number, 5% in German, French or Spanish, 2% emoji-only or empty,
and 1% long (about 2,000 characters). The pipeline runs in one process and with --workers processes
(2 on the 2-core machine); the baseline is VADER's polarity_scores on the same comments in one process.
Aim (issue 5): at least 5,000 comments/s for the whole pipeline on 2 cores.

    .venv/bin/python benchmarks/text.py [--comments 100000] [--workers 2]

Run time on 2 cores with the defaults: about a minute.
"""

from __future__ import annotations

import argparse
import random
import time

from voxpop.text.pipeline import analyze_comments
from voxpop.text.sentiment import plain_vader

OPENINGS = ["", "Honestly, ", "Overall ", "To be fair, ", "Well, ", "I have to say "]
SENTENCES = [
    "the staff were really friendly and helpful", "delivery took almost two weeks", "the app keeps crashing at checkout",
    "great value for money", "I waited 40 minutes on hold before anyone answered", "the parcel arrived damaged",
    "the refund still hasn't come through", "prices went up again this year", "the website is easy to use",
    "quality of the fabric is excellent", "the driver was rude", "checkout was quick and painless",
    "nothing special, it does the job", "I ordered 3 items for $49.99 on 12/03/2024", "the queue at the store was long",
    "customer service solved my problem in minutes", "the login page never loads", "would definitely recommend",
    "the product broke after a week", "the manager was very understanding but the policy is strict",
]
ENDINGS = [".", "!", ".", "...", " :)", "."]
PERSONAL = ["Email me at jane.doe@example.com.", "Call +44 20 7946 0958 please.", "Card 4111 1111 1111 1111 was charged twice."]
FOREIGN = ["Die Lieferung war zu spät, aber das Personal war freundlich.", "Le service client était très lent.",
           "El producto llegó roto y nadie responde."]
ODD = ["", "👍", "😡😡😡", "Great!"]


def comment(rng: random.Random) -> str:
    """One generated customer comment."""
    roll = rng.random()
    if roll < 0.02:
        return rng.choice(ODD)
    if roll < 0.07:
        return rng.choice(FOREIGN)
    count = 25 if roll < 0.08 else rng.randint(1, 4)
    sentences = [rng.choice(OPENINGS) + rng.choice(SENTENCES) + rng.choice(ENDINGS) for _ in range(count)]
    text = " ".join(sentence[0].upper() + sentence[1:] for sentence in sentences)
    return f"{text} {rng.choice(PERSONAL)}" if roll > 0.95 else text


def rate(count: int, seconds: float) -> str:
    """Comments per second, rounded for reading."""
    return f"{count / seconds:,.0f} comments/s ({seconds:.1f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(5)
    comments = [comment(rng) for _ in range(args.comments)]
    print(f"{len(comments):,} comments, {sum(map(len, comments)) / len(comments):.0f} characters on average")

    analyzer = plain_vader()
    start = time.perf_counter()
    for text in comments:
        analyzer.polarity_scores(text)
    vader = time.perf_counter() - start
    print(f"plain VADER, 1 process:      {rate(len(comments), vader)}")

    start = time.perf_counter()
    analyze_comments(comments)
    single = time.perf_counter() - start
    print(f"voxpop pipeline, 1 process:  {rate(len(comments), single)}  = {vader / single:.2f}x VADER's rate")

    start = time.perf_counter()
    analyze_comments(comments, workers=args.workers)
    parallel = time.perf_counter() - start
    print(f"voxpop pipeline, {args.workers} processes: {rate(len(comments), parallel)}  = {vader / parallel:.2f}x "
          f"VADER's rate; aim 5,000 comments/s: {'met' if len(comments) / parallel >= 5000 else 'not met'}")


if __name__ == "__main__":
    main()
