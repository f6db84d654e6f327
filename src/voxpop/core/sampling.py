"""Drawing samples of an audience: proportional allocation to strata and simple random sampling, seeded.

Pure functions: the caller gives the ids (any order) and a seed; the same seed gives the same sample whatever
order a database returned the ids in."""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Mapping
from fractions import Fraction


def proportional_allocation(strata: Mapping[str, int], size: int) -> dict[str, int]:
    """`size` shared between strata in proportion to how many each holds (proportional allocation, n_h = n·N_h/N;
    Cochran, Sampling Techniques, 3rd ed., ch. 5), rounded by largest remainder (Hamilton's method): each stratum
    gets the whole part of its quota, and the units left over go to the largest fractional parts (ties to the
    larger stratum, then by name). Each allocation is its quota rounded down or up, so it never exceeds the
    stratum. ValueError when size is below 0 or above the strata's total."""
    total = sum(strata.values())
    if any(count < 0 for count in strata.values()):
        raise ValueError("a stratum cannot hold fewer than 0 members")
    if size < 0 or size > total:
        raise ValueError(f"cannot allocate {size} among {total}")
    if size == 0:
        return dict.fromkeys(strata, 0)
    # Exact fractions: a float quota of 2.9999999 would round down where the true quota is 3.
    quotas = {name: Fraction(size * count, total) for name, count in strata.items()}
    allocation = {name: int(quota) for name, quota in quotas.items()}
    left = size - sum(allocation.values())
    by_remainder = sorted(strata, key=lambda name: (-(quotas[name] - allocation[name]), -strata[name], name))
    for name in by_remainder[:left]:
        allocation[name] += 1
    return allocation


def simple_random_sample(ids: Iterable[int], size: int, *, seed: int | str, stratum: Hashable = "") -> list[int]:
    """`size` of `ids` drawn without replacement, sorted. The ids are sorted before drawing and the generator is
    seeded with the seed and the stratum, so the draw depends on neither the ids' order nor other strata."""
    ordered = sorted(set(ids))
    if size < 0 or size > len(ordered):
        raise ValueError(f"cannot draw {size} of {len(ordered)}")
    return sorted(random.Random(f"{seed}:{stratum}").sample(ordered, size))


def stratified_sample(strata: Mapping[str, Iterable[int]], size: int, *, seed: int | str) -> dict[str, list[int]]:
    """A proportional stratified sample: `size` allocated by `proportional_allocation`, then a simple random
    sample within each stratum (seeded per stratum)."""
    members = {name: sorted(set(ids)) for name, ids in strata.items()}
    allocation = proportional_allocation({name: len(ids) for name, ids in members.items()}, size)
    return {name: simple_random_sample(ids, allocation[name], seed=seed, stratum=name)
            for name, ids in members.items()}
