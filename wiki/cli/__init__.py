"""The ``trousse`` command line and the server it starts: the top layer, free to import any other.

``wiki.cli:main`` is the console script.
"""

from .commands import main

__all__ = ["main"]
