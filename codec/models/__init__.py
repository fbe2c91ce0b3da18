"""Learned codec models: the networks, their layers and entropy models, and training-time forward passes."""
