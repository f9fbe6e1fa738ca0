"""Dagster wiring for remaster: spec, partitions, content-hash cache, sensors, schedules, CLI.

No pixel math here; image work lives in ``ops``.
"""
