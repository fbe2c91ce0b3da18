"""Layered files over HTTP(S): fetch a `.strata`, JPEG 2000 or progressive JPEG file from a URL,
the whole of it or only the bytes that K layers (or a byte budget) need.

One concern a module, none of them importing Qt or torch (the viewer's GUI process uses them):

- `urls`: what counts as a URL, and the file name it gives (no httpx import: cheap to ask);
- `errors`: the errors of a transfer, each a sentence for people that names what went wrong;
- `http`: `RangeReader`, byte ranges of one URL over httpx (proxies and TLS from the
  environment), with the server's answers checked (status, Content-Range, Content-Length);
- `plan`: how many bytes the first K layers, or the whole layers within N bytes, take;
- `remote`: `RemoteFile`, a layered file read header first, then range by range as far as
  asked, and `fetch`, which returns the bytes, their layout and what the transfer cost.
"""
