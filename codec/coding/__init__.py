"""Entropy coding of latents: range coding, the nested quantizer, normal CDF, tiling."""
