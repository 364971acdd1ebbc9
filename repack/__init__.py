"""repack: turn Python sdists from a package index into native distribution packages."""

__version__ = "0.1.0"
