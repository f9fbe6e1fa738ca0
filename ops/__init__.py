"""Image work for remaster: plain functions and torch modules, no Dagster.

Modules here must stay importable without torch wherever they are needed at
definition-load time (``registry``, ``image_io``, ``atomic``, ``*/params.py``).
"""
