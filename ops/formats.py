"""The image files remaster reads and writes, by suffix: a module of its own, so that scanning a source
folder need not import the codecs."""

# Lossless first, TIFF (a RAW developer's 16-bit master) before PNG, then block-compressed DDS, then lossy: of a
# photo pair's flash.jpg and flash.tif, a preview and its master, the master is read. BMP, PCX, GIF and WebP are
# read by Pillow as 8-bit images.
READABLE_SUFFIXES = (".tif", ".tiff", ".png", ".tga", ".bmp", ".pcx", ".gif", ".dds", ".webp", ".jpg", ".jpeg")
WRITABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tga")  # outputs are PNG; DDS is compressed by the engine's importer
