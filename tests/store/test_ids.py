"""Public ids are valid version-7 UUIDs, unique, and sort in the order they were made."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from voxpop.store.ids import public_id, public_ids


def test_ids_are_uuid7_unique_and_ordered_even_within_one_millisecond():
    made = [public_id() for _ in range(20_000)]
    assert len(set(made)) == len(made) and made == sorted(made)
    parsed = uuid.UUID(made[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_threads_never_get_the_same_id():
    with ThreadPoolExecutor(4) as pool:
        made = [identifier for batch in pool.map(lambda _: [public_id() for _ in range(2_000)], range(8))
                for identifier in batch]
    assert len(set(made)) == len(made)


def test_ids_made_in_batches_are_as_good_and_keep_the_order_with_single_ones():
    made = [public_id(), *public_ids(10_000), public_id(), *public_ids(3), *public_ids(5_000)]
    assert len(set(made)) == len(made) and made == sorted(made)
    assert all(uuid.UUID(each).version == 7 and uuid.UUID(each).variant == uuid.RFC_4122 for each in made)
    assert len({each[19:] for each in made}) == len(made)  # the random tails differ too
