"""placesim: a Places for Growth location and social-mobility coldspot planning simulator.

The public API is small; the CLI (``placesim``) and the Streamlit app are thin shells over it.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
