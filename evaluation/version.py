"""ipeval's version, in one place (the package, the CLI, run logs and batch records read it)."""
__version__ = "0.1.0"
