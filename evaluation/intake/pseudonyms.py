"""Keyed pseudonymisation of identifiers.

HMAC-SHA256 with a secret key: the same identifier gives the same pseudonym in every source (so
tables still join), and without the key nobody can rebuild the mapping by hashing candidate IDs,
which a plain hash would allow for the small space of person numbers.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.errors import PrivacyError

KEY_ENV = "IPEVAL_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
PREFIX = "ps_"


def load_pseudonym_key(key_file: Path | None = None) -> bytes:
    """The key from ``IPEVAL_PSEUDONYM_KEY`` if set, else from ``key_file``."""
    value = os.environ.get(KEY_ENV)
    origin = f"environment variable {KEY_ENV}"
    if not value and key_file is not None:
        key_file = Path(key_file)
        if not key_file.is_file():
            raise PrivacyError(
                f"The study asks for pseudonymisation and names the key file {key_file}, which does "
                f"not exist. Set {KEY_ENV} or create the key file (for example with "
                f"`python -c 'import secrets; print(secrets.token_hex(32))' > {key_file.name}`).")
        value = key_file.read_text(encoding="utf-8").strip()
        origin = f"key file {key_file}"
    if not value:
        raise PrivacyError(
            f"The study asks for pseudonymisation (`pseudonymise:` in study.yaml) but no key was "
            f"given. Set the environment variable {KEY_ENV} or name a key file with "
            f"`pseudonym_key_file:` in study.yaml. Identifiers are never loaded unpseudonymised.")
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise PrivacyError(f"The pseudonym key from the {origin} is {len(key)} bytes; at least "
                           f"{MIN_KEY_BYTES} are needed for the pseudonyms to be unguessable.")
    return key


class Pseudonymiser:
    """Maps identifiers to ``ps_`` + the first 16 hex digits of HMAC-SHA256(key, id).

    16 hex digits (64 bits) keep collisions negligible for any study size (about 1e-9 at a
    million people) while staying readable in tables.

    Examples
    --------
    >>> p = Pseudonymiser(b"0123456789abcdef-example")
    >>> p.pseudonym("P0001") == p.pseudonym(" P0001 ")
    True
    >>> p.pseudonym("P0001").startswith("ps_")
    True
    """

    def __init__(self, key: bytes):
        if len(key) < MIN_KEY_BYTES:
            raise PrivacyError(f"pseudonym key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key
        # Pseudonyms already computed: a person appears in many sources, hashed once.
        self._memo: dict[str, str] = {}

    def pseudonym(self, value) -> str:
        text = str(value).strip()
        found = self._memo.get(text)
        if found is None:
            digest = hmac.digest(self._key, text.encode("utf-8"), hashlib.sha256).hex()
            found = self._memo[text] = PREFIX + digest[:16]
        return found

    def __call__(self, values: pd.Series) -> pd.Series:
        """Pseudonymise a column; missing stays missing. Each distinct value is canonicalised
        and hashed once (``pd.factorize``), then spread back to the rows."""
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        # Integers read from CSV as float (1.0) must hash like the text "1".
        pseudonyms = np.array([self.pseudonym(_canonical_text(v)) for v in uniques] + [pd.NA],
                              dtype=object)
        return pd.Series(pseudonyms[codes], index=values.index, dtype="object")


def _canonical_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
