"""The codec worker processes: the worker (the only viewer module that imports torch and the
codec's models), the asyncio client the GUI talks through, and their messages."""
