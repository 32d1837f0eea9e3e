"""Models of the slack app."""
