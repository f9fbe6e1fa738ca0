"""The image files remaster reads and writes, by suffix: a module of its own, so that scanning a source
folder need not import the codecs."""

# Best first, TIFF (a RAW developer's 16-bit master) before PNG, then block-compressed DDS, then lossy, then GIF's
# 256 colours: of a photo pair's flash.jpg and flash.tif, a preview and its master, the master is read. BMP, PCX,
# GIF and WebP are read by Pillow as 8-bit images.
READABLE_SUFFIXES = (".tif", ".tiff", ".png", ".tga", ".bmp", ".pcx", ".dds", ".jpg", ".jpeg", ".webp", ".gif")


def may_be_image(suffix: str) -> bool:
    """Whether a file named ``*<suffix>`` may be an image remaster reads: one of its own formats, or any Pillow
    opens (``.jfif``, ``.ppm``), since the reader goes by content. Pillow is imported here, on the first call."""
    from PIL import Image

    return suffix.lower() in READABLE_SUFFIXES or suffix.lower() in Image.registered_extensions()
WRITABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tga")  # write_image's; DDS is export_dds's alone
