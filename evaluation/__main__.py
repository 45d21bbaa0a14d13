"""``python -m evaluation`` is the same as the ``ipeval`` command."""
import sys

from evaluation.cli import main

sys.exit(main())
