"""The image files remaster reads and writes, by suffix: a module of its own, so that scanning a source
folder need not import the codecs."""

# Lossless first: of a photo pair's flash.jpg and flash.tif (a preview and its 16-bit master), the master is read.
READABLE_SUFFIXES = (".png", ".tif", ".tiff", ".tga", ".dds", ".jpg", ".jpeg")
WRITABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tga")  # outputs are PNG; DDS is compressed by the engine's importer
