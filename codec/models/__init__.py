"""Learned codec models: the networks, their layers and entropy models, and training-time forward passes.

Every model's training forward, `model(x, **options, synthesize=True)` with x (B, 3, H, W) in
[0, 1] and the options its codec's `training_options(cfg, layers)` gives (codec/registry.py),
returns one output contract, so codec/training/train.py has one loss path:

    {"x_hat": (S, B, 3, H, W) float32, or None when synthesize=False (rate-only training),
     "bpp":   {part: () or (S,)},   estimated bits per pixel of each coded part ("z", "y", ...),
     "lmbda": (S,)}                 the rate-distortion weight of each row

with one row per quality layer trained in the step (S = 1 for a single-rate model).
"""
