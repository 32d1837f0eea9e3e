"""Models of the flags app."""
