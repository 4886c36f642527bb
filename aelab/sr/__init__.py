"""Single-image super-resolution with ESPCN: image sets (T91, Set5, Set14, your photos),
Y-channel handling and degradations, training, PSNR/SSIM on Y, and tiled inference.

>>> from aelab.sr.train import SRConfig, train_espcn      # doctest: +SKIP
>>> run = train_espcn(SRConfig(scale=3), "runs/espcn_x3")  # doctest: +SKIP
"""
