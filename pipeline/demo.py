"""Write the demo project: its spec (when missing) and the input files the spec points to.

A folder that already has another spec is refused: the demo data would be written beside it and
that spec built instead."""

from __future__ import annotations

from pathlib import Path

from ops.atomic import file_in_the_way, write_bytes_atomic
from pipeline.spec import SPEC_FILE

DEMO_SPEC = Path(__file__).with_name("demo_spec.yaml")


def write_demo(folder: Path) -> Path:
    """Generate ``demo/`` inputs under ``folder``; returns the spec to build."""
    from ops.demo_data import write_flash_photos, write_legacy_textures, write_photo_pairs, write_reference_textures

    if (blocker := file_in_the_way(folder)) is not None:
        raise FileExistsError(f"{blocker} is a file, not a folder; give remaster demo a folder with --dir (one that "
                              "is not there yet is made)")
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / SPEC_FILE
    if not spec.exists():
        write_bytes_atomic(spec, DEMO_SPEC.read_bytes())
    elif spec.read_bytes() != DEMO_SPEC.read_bytes():
        raise FileExistsError(
            f"{spec} exists and is not the demo's spec; give remaster demo an empty folder with --dir "
            f"(or build that spec with remaster build)"
        )
    data = folder / "demo"
    write_legacy_textures(data / "textures" / "legacy")
    write_reference_textures(data / "textures" / "hires")
    write_photo_pairs(data / "photos")
    write_flash_photos(data / "flash_photos")
    return spec
