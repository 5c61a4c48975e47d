"""Agora: a self-hosted intelligence platform for online marketplaces."""

__version__ = "0.1.0"
__all__ = ["__version__"]
