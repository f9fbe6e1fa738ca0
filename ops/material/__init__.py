"""Photo to material: PBR maps from flash photos (Aittala et al. 2015) or from a legacy colour texture.

Plain Python and torch; the pipeline imports ``params`` (torch-free) to check a
spec and ``run`` only when a build runs the op.
"""
