"""Coded interviews: segments from a spreadsheet or a REFI-QDA project, inter-coder agreement,
themes by group, co-occurrence, and joint displays beside the numbers.

- :mod:`.segments` — read and check the long table of coded segments (CSV, XLSX, .qdpx);
- :mod:`.qdpx` / :mod:`.qdpx_export` — read and write REFI-QDA project exchange files (NVivo,
  ATLAS.ti, MAXQDA, QualCoder); :mod:`.refi_qda` holds the format's names both use;
- :mod:`.agreement` — percent agreement, Cohen's and Fleiss' kappa, Krippendorff's alpha,
  with bootstrap CIs (a measure table), and the disagreement list;
- :mod:`.themes` — mentions by role, institution and IP status; co-occurrence; case × code;
- :mod:`.joint` — for each theme, the interviews beside the measured quantity and quotes;
- :mod:`.mentions` — residents' and staff's mentions by IP status beside the estimates;
- :mod:`.summaries` — what the interviews notebook shows besides those tables, and its figures.
"""
from evaluation.coding.agreement import agreement, disagreements, nominal_alpha
from evaluation.coding.joint import joint_display
from evaluation.coding.mentions import interview_mentions, views_by_ip
from evaluation.coding.qdpx import read_qdpx
from evaluation.coding.qdpx_export import write_qdpx
from evaluation.coding.segments import (coder_key, read_codebook, read_segments,
                                        segment_codebook, segment_problems)
from evaluation.coding.summaries import (agreement_plot, disagreements_per_code, mention_gaps,
                                         mentions_by_ip, mentions_plot, problem_counts,
                                         segments_summary, study_segments, write_tables,
                                         write_worklist)
from evaluation.coding.themes import (case_code_matrix, cooccurrence, cooccurrence_plot,
                                      mentions_by_group, unit_codes)

__all__ = [
    "agreement", "agreement_plot", "case_code_matrix", "coder_key", "cooccurrence",
    "cooccurrence_plot", "disagreements", "disagreements_per_code", "interview_mentions",
    "joint_display", "mention_gaps", "mentions_by_group", "mentions_by_ip", "mentions_plot",
    "nominal_alpha", "problem_counts", "read_codebook", "read_qdpx", "read_segments",
    "segment_codebook", "segment_problems", "segments_summary", "study_segments",
    "unit_codes", "views_by_ip", "write_qdpx", "write_tables", "write_worklist",
]
