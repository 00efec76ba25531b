"""sandbox/graph."""
