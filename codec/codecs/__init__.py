"""Layered codecs: each codec's bitstream, an encoder and a layer-by-layer decoder."""
