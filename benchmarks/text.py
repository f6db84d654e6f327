"""Text pipeline throughput: redaction, language, sentiment and codebook tagging against plain VADER alone.

Comments are generated from a seeded mix of customer-feedback sentences: one to four sentences each, 5%
carrying an e-mail address, phone or card number, 5% in German, French or Spanish, 2% emoji-only or empty,
and 1% long (about 2,000 characters). The pipeline runs in one process and with --workers processes
(2 on the 2-core machine); the baseline is VADER's polarity_scores on the same comments in one process.
Aim (issue 5): at least 5,000 comments/s for the whole pipeline on 2 cores.

Each line also gives the CPU seconds the run used (its workers' included) and those other processes used
meanwhile, and the run starts and ends with the load average: on a shared machine, other processes' CPU time
during a run means the rate is lower than the machine alone would give.

    .venv/bin/python benchmarks/text.py [--comments 100000] [--workers 2]

Run time on 2 cores with the defaults: about half a minute.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import time
from collections.abc import Callable

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


def cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def machine_cpu_seconds() -> float:
    """CPU time all processes on the machine have used (Linux /proc/stat), or NaN where there is none."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return math.nan
    idle = fields[3] + fields[4]  # idle and waiting for I/O
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(run: Callable[[], object]) -> tuple[float, float, float]:
    """Wall-clock seconds of one run, its CPU seconds, and the CPU seconds other processes used meanwhile."""
    wall, cpu, machine = time.perf_counter(), cpu_seconds(), machine_cpu_seconds()
    run()
    cpu = cpu_seconds() - cpu
    return time.perf_counter() - wall, cpu, machine_cpu_seconds() - machine - cpu


def rate(count: int, wall: float, cpu: float, others: float) -> str:
    """Comments per second, rounded for reading, with the times behind it."""
    return f"{count / wall:,.0f} comments/s ({wall:.1f} s; {cpu:.1f} CPU s, other processes {max(others, 0):.1f} CPU s)"


def load() -> str:
    """The 1-minute load average against the cores."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(5)
    comments = [comment(rng) for _ in range(args.comments)]
    print(f"{len(comments):,} comments, {sum(map(len, comments)) / len(comments):.0f} characters on average; {load()}")
    # Load the language models first (each worker inherits them), as a long-running service has them loaded.
    analyze_comments(["The staff were friendly", "Das Personal war freundlich", "Le personnel était aimable"])

    def vader_alone() -> None:
        analyzer = plain_vader()
        for text in comments:
            analyzer.polarity_scores(text)

    vader, *vader_cpu = timed(vader_alone)
    print(f"plain VADER, 1 process:      {rate(len(comments), vader, *vader_cpu)}")

    single, *single_cpu = timed(lambda: analyze_comments(comments))
    print(f"voxpop pipeline, 1 process:  {rate(len(comments), single, *single_cpu)}  = "
          f"{vader / single:.2f}x VADER's rate")

    parallel, *parallel_cpu = timed(lambda: analyze_comments(comments, workers=args.workers))
    print(f"voxpop pipeline, {args.workers} processes: {rate(len(comments), parallel, *parallel_cpu)}  = "
          f"{vader / parallel:.2f}x VADER's rate; aim 5,000 comments/s: "
          f"{'met' if len(comments) / parallel >= 5000 else 'not met'}")
    print(load())


if __name__ == "__main__":
    main()
