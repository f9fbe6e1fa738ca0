"""The image files remaster reads and writes, by suffix: a module of its own, so that scanning a source
folder need not import the codecs."""

READABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tga", ".dds", ".tif", ".tiff")
WRITABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tga")  # outputs are PNG; DDS is compressed by the engine's importer
