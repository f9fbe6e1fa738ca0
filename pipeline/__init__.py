"""Dagster wiring for remaster: spec, partitions, content-hash cache, sensors, schedules, CLI.

No pixel math here; image work lives in ``ops``. Where to look, by the order a build goes through:

- The spec: ``spec`` reads and checks it, helped by ``spec_yaml`` (YAML 1.2, each key's line),
  ``spec_messages`` and ``yaml_errors`` (errors in an artist's words), ``globs`` and ``dagster_names``;
  ``spec_reload`` tells a spec changed since Dagster loaded it.
- What there is to build: ``sources`` (partitions on disk), ``graph`` (the build order),
  ``staleness`` (why a partition must be built), ``removed`` (partitions whose file is gone).
- Building one partition: ``build`` (the ``Builder``, through ``cache`` and ``hashing``), with ``placing``,
  ``outputs``, ``edits`` and ``write_errors`` for the build folder, ``manifest`` for its rows, ``guards``.
- Through Dagster: ``definitions`` assembles ``assets``, ``resources``, ``sensors``, ``schedules``,
  ``unreached`` and ``killed_builds``; ``provenance`` and ``event_log`` record into its instance, ``ranges``
  cuts work into runs; ``runs`` is what the CLI does (``cli``), with ``signals``, ``locks``, ``claims``,
  ``processes`` and ``progress`` around it; ``demo`` writes the demo project.
"""
