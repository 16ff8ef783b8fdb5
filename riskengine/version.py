"""The engine's version, in a module of its own so nothing inside the package imports the package face."""

__version__ = "0.1.0"
