"""The ``Study`` object: every source of a study, loaded, mapped and pseudonymised.

Notebooks and CLI verbs get their tables from here by source name, never by opening files.
Each table's index is the data row in its raw file (1-based, header not counted), so any value
shown can be traced back to the export it came from.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from evaluation.errors import ParameterError
from evaluation.estimates import with_counts
from evaluation.instruments import load_instrument
from evaluation.language.labels import label_in
from evaluation.intake.sources import check_identifier_columns, load_source
from evaluation.intake.manifest import Manifest, load_manifest
from evaluation.intake.pseudonyms import Pseudonymiser, load_pseudonym_key
from evaluation.intake.validation import empty_quarantine, generalise_rules

ALL_INSTITUTIONS = (None, "", "all", "All", "ALL")


class Study:
    """A loaded study. Tables are read lazily, once, and cached.

    Parameters
    ----------
    manifest : Manifest or path to ``study.yaml`` (or its folder)
    institution : str or None
        Restrict every table to one institution (``None`` or ``"all"``: the whole study).

    Examples
    --------
    >>> study = Study.load("data_synthetic/study.yaml")          # doctest: +SKIP
    >>> study.table("residents").shape                            # doctest: +SKIP
    """

    def __init__(self, manifest, institution: str | None = None, *, _cache=None):
        self.manifest: Manifest = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
        self._cache = _cache if _cache is not None else {}
        self.institution = None if institution in ALL_INSTITUTIONS else str(institution)
        if self.institution is not None:
            known = self.institutions()
            if self.institution not in known:
                raise ParameterError(
                    f"Institution {self.institution!r} is not in study {self.name!r}. "
                    f"Known institutions: {', '.join(known)} (or 'all').")

    @classmethod
    def load(cls, path, institution: str | None = None) -> "Study":
        """Load ``study.yaml`` (or a study folder). A relative path that does not exist from
        the working directory is also looked for one level up, so that a notebook opened in
        ``notebooks/`` finds ``data_synthetic/study.yaml`` as it does from the repository root."""
        return cls(load_manifest(resolve_study_path(path)), institution)

    # -- what the study is -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def root(self) -> Path:
        return self.manifest.root

    @property
    def source_names(self) -> list[str]:
        return list(self.manifest.sources)

    @property
    def id_column(self) -> str:
        return self.manifest.id_column

    @property
    def institution_column(self) -> str:
        return self.manifest.institution_column

    def subset(self, institution: str | None) -> "Study":
        """The same study restricted to one institution (shares the loaded tables)."""
        return Study(self.manifest, institution, _cache=self._cache)

    def institutions(self) -> list[str]:
        """Every institution named in any source, sorted."""
        names: set[str] = set()
        for source in self.source_names:
            df = self._loaded(source)["table"]
            if self.institution_column in df.columns:
                names.update(df[self.institution_column].dropna().astype(str).unique())
        return sorted(names)

    # -- tables -------------------------------------------------------------------------------
    def table(self, source: str) -> pd.DataFrame:
        """The loaded table of one source (a copy; restricted to the institution if one is set)."""
        df = self._loaded(source)["table"]
        return self._restrict(df).copy()

    __getitem__ = table

    def quarantine(self) -> pd.DataFrame:
        """Every row that was read but not used, with file, row, column, value and rule."""
        frames = [self._loaded(s)["quarantine"] for s in self.source_names]
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else empty_quarantine()

    def load_report(self) -> pd.DataFrame:
        """A row per source: rows read = rows used + rows quarantined."""
        rows = []
        for name, spec in self.manifest.sources.items():
            loaded = self._loaded(name)
            rows.append({
                "source": name,
                "file": spec.file.name,
                "instrument": ", ".join(spec.instruments) or "(plain table)",
                "kind": spec.kind,
                "rows_read": loaded["rows_read"],
                "rows_used": len(loaded["table"]),
                "rows_quarantined": loaded["quarantine"]["row"].nunique(),
                "columns": loaded["table"].shape[1],
                "top_reasons": _top_reasons(loaded["quarantine"]),
            })
        return with_counts(pd.DataFrame(rows), ["rows_read", "rows_used", "rows_quarantined"])

    def person_table(self) -> pd.DataFrame:
        """One row per person: the columns of every source keyed one row per person, joined.

        Sources are joined in manifest order on the id column; a column that several sources
        carry (such as the institution) is taken from the first source that has a value.
        """
        merged = None
        for name in self.source_names:
            df = self._loaded(name)["table"]
            if self.id_column not in df.columns or df[self.id_column].duplicated().any():
                continue
            df = df.reset_index(drop=True)
            if merged is None:
                merged = df
                continue
            shared = [c for c in df.columns if c in merged.columns and c != self.id_column]
            merged = merged.merge(df, on=self.id_column, how="outer", suffixes=("", "__other"))
            for col in shared:
                merged[col] = merged[col].combine_first(merged.pop(f"{col}__other"))
        if merged is None:
            raise ParameterError(f"Study {self.name!r} has no source with one row per "
                                 f"{self.id_column!r}, so there is no person table.")
        return self._restrict(merged).reset_index(drop=True)

    # -- loading --------------------------------------------------------------------------------
    def _loaded(self, source: str) -> dict:
        if source not in self.manifest.sources:
            raise ParameterError(f"Study {self.name!r} has no source {source!r}. Its sources: "
                                 f"{', '.join(self.source_names)}.")
        if source not in self._cache:
            self._cache[source] = self._load_source(source)
        return self._cache[source]

    def _load_source(self, source: str) -> dict:
        loaded = load_source(self.manifest.sources[source], manifest=self.manifest,
                             instruments=self.instruments(source), pseudonymise=self._pseudonymise)
        # After the source (whose own file errors say more) and before its table is handed out.
        if "__identifiers_checked__" not in self._cache:
            check_identifier_columns(self.manifest)
            self._cache["__identifiers_checked__"] = True
        return {"table": loaded.table, "quarantine": loaded.quarantine,
                "rows_read": loaded.rows_read}

    def labels(self) -> dict:
        """``{variable: {language: label}}``: the manifest's labels over those of the scores in
        the instruments the sources name (the label of a score is that of its column)."""
        out = {}
        for source in self.source_names:
            for instrument in self.instruments(source):
                for score in instrument.scores.values():
                    if score.labels:
                        out.setdefault(score.column, score.labels)
        return {**out, **self.manifest.labels}

    def label(self, variable: str, code: str | None = None) -> str:
        """The label of ``variable`` in language ``code`` (default: the manifest's), or the
        variable's name when it has none.

        >>> s = Study.load("data_synthetic")
        >>> s.label("daily_chaos", "nb"), s.label("sex", "en"), s.label("no_such_column")
        ('Kaos i hverdagen', 'Sex', 'no_such_column')
        """
        return label_in(self.labels().get(variable), code or self.manifest.language, variable)

    def instruments(self, source: str) -> list:
        """The instrument definitions a source names (a study's own ``instruments/`` first)."""
        spec = self.manifest.sources[source]
        return [load_instrument(name, extra=[self.root / "instruments"]) for name in spec.instruments]

    def _pseudonymise(self, df: pd.DataFrame) -> pd.DataFrame:
        columns = [c for c in self.manifest.pseudonymise if c in df.columns]
        if not columns:
            return df
        pseudonymiser = self._cache.get("__pseudonymiser__")
        if pseudonymiser is None:
            pseudonymiser = Pseudonymiser(load_pseudonym_key(self.manifest.pseudonym_key_file))
            self._cache["__pseudonymiser__"] = pseudonymiser
        df = df.copy()
        for col in columns:
            df[col] = pseudonymiser(df[col])
        return df

    def _restrict(self, df: pd.DataFrame) -> pd.DataFrame:
        if self.institution is None:
            return df
        if self.institution_column in df.columns:
            return df[df[self.institution_column].astype(str) == self.institution]
        if self.id_column in df.columns:
            return df[df[self.id_column].isin(self._institution_ids())]
        return df

    def _institution_ids(self) -> set:
        ids: set = set()
        for source in self.source_names:
            df = self._loaded(source)["table"]
            if {self.id_column, self.institution_column} <= set(df.columns):
                mask = df[self.institution_column].astype(str) == self.institution
                ids.update(df.loc[mask, self.id_column].dropna())
        return ids


def _top_reasons(quarantine: pd.DataFrame, top: int = 3) -> str:
    """The commonest rules broken, with counts ('duplicate submission … ×8; out of range … ×2')."""
    if not len(quarantine):
        return ""
    counts = generalise_rules(quarantine["rule"]).value_counts().head(top)
    return "; ".join(f"{rule} ×{n}" for rule, n in counts.items())


def resolve_study_path(path) -> Path:
    """``path`` as given, or one level up when it is relative and only exists there."""
    path = Path(path)
    if not path.is_absolute() and not path.exists() and (Path("..") / path).exists():
        return Path("..") / path
    return path


def load_study(path, institution: str | None = None) -> Study:
    """Shorthand for ``Study.load``."""
    return Study.load(path, institution)
