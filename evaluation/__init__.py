"""ipeval: parameterized-notebook toolkit for evaluating individual care plans (IP).

The package is ``evaluation``; the command is ``ipeval``. Notebooks start from a study:

>>> from evaluation import Study
>>> study = Study.load("data_synthetic/study.yaml")   # doctest: +SKIP
"""
from evaluation.version import __version__  # noqa: E402

from evaluation.report.records import record, record_estimates  # noqa: E402
from evaluation.study import Study, load_study  # noqa: E402

__all__ = ["Study", "load_study", "record", "record_estimates", "__version__"]
