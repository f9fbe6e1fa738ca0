"""Texture multiplier: one exemplar in, several new textures of the same material out."""
