"""The verbs of a batch's release: ``ipeval release``, ``ipeval review`` and ``ipeval verify``.

Imported only when one of them runs (``ipeval --help`` does not pay for them).
"""
from __future__ import annotations

from evaluation.errors import ParameterError
from evaluation.release.runner import release_batch


def release_of_batch(args) -> int:
    """``ipeval release OUT``: protect the batch as one release and write its record; with
    ``--bundle ZIP``, pack the outputs the checkers approved (the batch is not changed)."""
    if args.bundle is not None:
        from evaluation.release.bundle import write_bundle
        report = write_bundle(args.out, args.bundle)
        print(f"Bundle {report.path}: {len(report.packed)} approved output(s) packed.")
        for uid, why in report.left_out:
            print(f"  left out {uid}: {why}")
        print(f"Check it with `ipeval verify {report.path}`.")
        return 0
    if args.approvals < 1:
        raise ParameterError(f"--approvals must be at least 1; got {args.approvals}.")
    return release_batch(args.out, approvals_required=args.approvals).exit_code


def review_of_release(args) -> int:
    """``ipeval review OUT``: the output checkers' page on 127.0.0.1 (Ctrl-C to stop)."""
    from evaluation.release.review_server import serve
    if args.checker and args.researcher:
        raise ParameterError("Give --checker NAME or --researcher NAME, not both.")
    who = args.researcher or args.checker or _user()
    role = "researcher" if args.researcher else "checker"
    serve(args.out, who=who, role=role, port=args.port, open_browser=not args.no_browser)
    return 0


def verify_of_bundle(args) -> int:
    """``ipeval verify ZIP``: exit 0 when every hash matches and nothing unapproved is inside."""
    from evaluation.release.verify import verify_bundle
    problems = verify_bundle(args.bundle, against=args.against)
    if problems:
        print(f"{args.bundle}: NOT verified ({len(problems)} problem(s)):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{args.bundle}: verified (every file's SHA-256 matches its manifest; every output "
          f"approved as the rules in force ask).")
    if not args.against:    # a bundle packed anew with its own manifest would pass as well
        print("  This checks the bundle against itself only. To check it against the release "
              "it came from (its record, outputs and decisions), run: ipeval verify "
              f"{args.bundle} --against BATCH_OUTPUT")
    return 0


def _user() -> str:
    import getpass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
