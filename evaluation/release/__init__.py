"""The release of a batch: what leaves the project, protected as one release, reviewed by the
output checkers and handed out as a verified bundle (docs/release.md).

In pipeline order:

- :mod:`.batch_ledger` — the counts of every run in one ledger, with the relations a reader of
  all the reports knows; :mod:`.protect` — hide across the runs what they give away together;
- :mod:`.rerender`, :mod:`.redraw_figures`, :mod:`.reissue` — a run's tables, figures and files
  issued again through the gate, nothing run again;
- :mod:`.inventory` — ``release.json``; :mod:`.acro` — the same in ACRO's results format;
- :mod:`.runner` — ``ipeval release``, all of it in order;
- :mod:`.decisions` — the checkers' decisions (append-only, four eyes); :mod:`.review_server`
  and :mod:`.review_page` — their page on 127.0.0.1;
- :mod:`.bundle` — the approved outputs as one ZIP; :mod:`.verify` — check a bundle.
"""
from evaluation.release.acro import acro_results, write_acro_results
from evaluation.release.bundle import BundleReport, write_bundle
from evaluation.release.decisions import append_decision, output_states, read_decisions
from evaluation.release.inventory import read_release
from evaluation.release.review_server import ReviewServer, serve
from evaluation.release.runner import ReleaseOutcome, release_batch
from evaluation.release.verify import verify_bundle

__all__ = ["BundleReport", "ReleaseOutcome", "ReviewServer", "acro_results", "append_decision",
           "output_states", "read_decisions", "read_release", "release_batch", "serve",
           "verify_bundle", "write_acro_results", "write_bundle"]
