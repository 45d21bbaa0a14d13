"""Reading a study: the manifest, its source files, validation with quarantine, pseudonyms,
national IDs and de-identification of free text."""
from evaluation.intake.deidentify import deidentify, raw_tables, study_vocabulary
from evaluation.intake.id_numbers import (check_digits, is_valid_national_id, mask_national_id,
                                          national_id_kind)
from evaluation.intake.manifest import Manifest, OutcomeSpec, SourceSpec, load_manifest
from evaluation.intake.national_id import columns_with_national_ids, find_national_ids, scan_frame
from evaluation.intake.output_paths import writable_dir
from evaluation.intake.pseudonyms import Pseudonymiser, load_pseudonym_key
from evaluation.intake.readers import read_columns, read_table
from evaluation.intake.sources import LoadedSource, load_source
from evaluation.intake.totals import impute_from_total
from evaluation.intake.validation import empty_quarantine, generalise_rules

__all__ = [
    "LoadedSource", "Manifest", "OutcomeSpec", "Pseudonymiser", "SourceSpec", "check_digits",
    "columns_with_national_ids", "deidentify", "empty_quarantine", "find_national_ids",
    "generalise_rules", "impute_from_total", "is_valid_national_id", "load_manifest",
    "load_pseudonym_key", "load_source", "mask_national_id", "national_id_kind", "raw_tables",
    "read_columns", "read_table", "scan_frame", "study_vocabulary", "writable_dir",
]
