"""What the viewer holds, without Qt or torch: the session, its streams, the link arithmetic,
and reading files from disk."""
