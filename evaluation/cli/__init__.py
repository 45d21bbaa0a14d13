"""The command line, ``ipeval``: a thin layer over the functions the notebooks call."""
from evaluation.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
