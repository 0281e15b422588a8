"""shopclerk's composition root: settings, wiring and the command line.

Nothing in `engine`, `kb`, `channels` or `handoff` imports this package.
"""

__version__ = "0.1.0"
