"""Learned codec models: the networks and their training-time forward passes."""
