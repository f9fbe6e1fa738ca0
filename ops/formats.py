"""The image files remaster reads and writes, by suffix: a module of its own, so that scanning a source
folder need not import the codecs."""

# Lossless first, TIFF (a RAW developer's 16-bit master) before PNG, then block-compressed DDS, then JPEG: of a
# photo pair's flash.jpg and flash.tif, a preview and its master, the master is read.
READABLE_SUFFIXES = (".tif", ".tiff", ".png", ".tga", ".dds", ".jpg", ".jpeg")
WRITABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tga")  # outputs are PNG; DDS is compressed by the engine's importer
