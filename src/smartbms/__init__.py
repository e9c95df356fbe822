"""smartbms: a smart battery management system."""

__version__ = "0.1.0"
