"""Which partitions a run covers: a Dagster run over a partitioned asset takes one range of its partitions."""

from collections.abc import Collection, Sequence

# Current partitions between two to build that cost more as a run's cache hits than a run of their own: a run
# starts in about 1 s, and a cache hit inside a range records its events in about 12 ms (1,298 textures).
GAP_FOR_A_NEW_RUN = 80


def stretches(order: Sequence[str], wanted: Collection[str], cut_at: Collection[str] = ()) -> list[list[str]]:
    """The ``wanted`` keys, in partition ``order``, cut into the runs that build them. Each current partition
    inside a run's range is a cache hit with its events: a change to the first and the last of 1,298 textures
    recorded every one between them (15 s). So a run ends where more than ``GAP_FOR_A_NEW_RUN`` keys lie
    between two wanted ones, and at each key of ``cut_at``, which no run may span."""
    runs: list[list[str]] = []
    since = GAP_FOR_A_NEW_RUN + 1  # keys since the last wanted one
    for key in order:
        if key in cut_at:
            since = GAP_FOR_A_NEW_RUN + 1
        elif key in wanted:
            if since > GAP_FOR_A_NEW_RUN:
                runs.append([])
            runs[-1].append(key)
            since = 0
        else:
            since += 1
    return runs
