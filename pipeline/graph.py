"""The order targets are built in, and which of them one Dagster run can build: the spec's dependency graph.

Pure spec logic, no Dagster: ``build``, ``status`` and the marking of partitions a failed run never reached
plan by ``build_order``; each ``run_groups`` group is a nightly job, and what a file sensor requests.
"""

from __future__ import annotations

from pipeline.spec import Spec


def build_order(spec: Spec, selection: list[str] | None = None) -> list[tuple[str | None, list[str]]]:
    """Groups of targets that one run can build, in dependency order.

    Models come first (unpartitioned); then, per source, the assets on its
    partitions, one group per dependency level (an asset chained from another
    comes in a later group), because a run targets one partition set and the
    CLI builds a downstream asset even where some upstream partitions failed.
    """
    wanted = set(selection or spec.targets)
    groups: list[tuple[str | None, list[str]]] = [(None, [m for m in spec.models if m in wanted])]
    for source in spec.sources:
        # A dict: in spec order, and asked in one step, where a list would make this quadratic in the number of assets.
        pending = dict.fromkeys(a for a in spec.assets if spec.source_of(a).name == source)
        while pending:
            level = [a for a in pending if spec.assets[a].upstream not in pending]
            groups.append((source, [a for a in level if a in wanted]))
            for done in level:
                del pending[done]
    return [(name, members) for name, members in groups if members]


def run_groups(spec: Spec) -> dict[str | None, list[str]]:
    """What one Dagster run can build, by partition set: each source's assets, after the models they use.

    A run may mix unpartitioned models with assets of one partition set, and runs them in dependency
    order, so a retrained model is never raced by the outputs that use it. Models no asset uses are
    the ``None`` group. A model used on two sources is in both groups; a second run needing it at the
    same time waits on the model's lock (``Builder.build``) and then finds it cached.
    """
    groups: dict[str | None, list[str]] = {}
    for partition_set, names in build_order(spec):
        if partition_set is not None:
            groups.setdefault(partition_set, []).extend(names)
    used: set[str] = set()
    for partition_set, names in groups.items():
        models = list(dict.fromkeys(m for n in names if (m := spec.targets[n].model)))
        used.update(models)
        groups[partition_set] = models + names
    unused = [m for m in spec.models if m not in used]
    return {None: unused, **groups} if unused else groups


def with_upstream(spec: Spec, names: list[str]) -> list[str]:
    """``names`` and every model and asset they are built from, directly or through others."""
    found: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in spec.targets and name not in found:
            found.append(name)
            todo += [spec.targets[name].upstream, *filter(None, [spec.targets[name].model])]
    return found
