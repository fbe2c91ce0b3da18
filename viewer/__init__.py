"""Strata Viewer: a desktop viewer that encodes images and streams `.strata` files progressively.

The GUI (Qt, asyncio through qasync) never touches tensors: encoding and decoding run in worker
processes (viewer.backend.worker) that it talks to through viewer.backend.client.
"""
