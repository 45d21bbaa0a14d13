"""Coded interviews: segments from a spreadsheet or a REFI-QDA project, inter-coder agreement,
themes by group, co-occurrence, and joint displays beside the numbers.

- :mod:`.segments` — read and check the long table of coded segments (CSV, XLSX, .qdpx);
- :mod:`.qdpx` — REFI-QDA project exchange files (NVivo, ATLAS.ti, MAXQDA, QualCoder);
- :mod:`.agreement` — percent agreement, Cohen's and Fleiss' kappa, Krippendorff's alpha,
  with bootstrap CIs, and the disagreement list;
- :mod:`.themes` — mentions by role, institution and IP status; co-occurrence; case × code;
- :mod:`.joint` — for each theme, the interviews beside the measured quantity and quotes.
"""
