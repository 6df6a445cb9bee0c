"""The mixscribe command-line client (``mixscribe``): a package of its own that talks to the HTTPS API only."""

__version__ = "0.1.0"
