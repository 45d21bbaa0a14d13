"""Synthetic studies with known truth: ``ipeval synth`` and the test and benchmark data.

>>> from evaluation.synthetic import SyntheticConfig, generate
>>> tables, truth = generate(SyntheticConfig(persons=200, institutions=3, seed=1))
>>> sorted(tables)[:3]
['brukerplan', 'codebook', 'fit']
"""
from evaluation.synthetic.config import SyntheticConfig
from evaluation.synthetic.generator import generate, manifest_text, write_study

__all__ = ["SyntheticConfig", "generate", "write_study", "manifest_text"]
