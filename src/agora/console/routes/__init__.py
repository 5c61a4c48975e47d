"""Console routes: one module per page, each exposing ``router``."""
