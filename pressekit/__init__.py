"""pressekit: the publishing pipeline of a press office."""

__version__ = "0.1.0"
