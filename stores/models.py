"""Models of the stores app."""
