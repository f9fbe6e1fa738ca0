"""Learned super-resolution for textures: training (``train_srcae``) and inference (``super_resolve``).

The model is the convolutional autoencoder of NVIDIA's GDC 2017 talk "Zoom,
Enhance, Synthesize!"; see :mod:`ops.superres.model`. Parameters live in the
torch-free :mod:`ops.superres.params` so that loading pipeline definitions
never imports torch.
"""
