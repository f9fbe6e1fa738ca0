"""The image files remaster reads and writes, by suffix: a module of its own, so that scanning a source
folder need not import the codecs."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tga")
