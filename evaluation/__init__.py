"""ipeval: parameterized-notebook toolkit for evaluating individual care plans (IP).

The package is ``evaluation``; the command is ``ipeval``. Notebooks start from a study:

>>> from evaluation import Study
>>> study = Study.load("data_synthetic/study.yaml")   # doctest: +SKIP
"""
__version__ = "0.1.0"

from .recording import record, record_estimates  # noqa: E402
from .study import Study, load_study  # noqa: E402

__all__ = ["Study", "load_study", "record", "record_estimates", "__version__"]
