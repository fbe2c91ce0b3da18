"""Training: the data cache and the resumable training script."""
