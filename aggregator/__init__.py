"""Collect what UN peacekeeping missions publish and put each post beside the right mission."""

__version__ = "0.1.0"
