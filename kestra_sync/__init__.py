"""kestra-sync: make git the source of truth for Kestra flows."""

__version__ = "0.1.0"
