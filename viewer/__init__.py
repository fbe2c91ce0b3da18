"""Strata Viewer: a desktop viewer that encodes images and streams `.strata` files progressively.

Layers, each importing only those below it (import-linter contracts in pyproject.toml):
`app` (entry point), `widgets` (Qt widgets), `control` (Qt objects without a face),
`presentation` (what the viewer says) and `backend` (the codec worker processes), `state` (what
is open). The GUI (Qt, asyncio through qasync) never touches tensors: encoding and decoding run
in worker processes (viewer.backend.worker) that it talks to through viewer.backend.client.
"""
