"""The verbs of a batch's release: ``ipeval release``, ``ipeval review`` and ``ipeval verify``
(of a bundle, or of a report against the inputs its stamp records).

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


def verify_of_path(args) -> int:
    """``ipeval verify PATH``: a ``.zip`` is a release bundle, anything else a report."""
    if args.path.suffix.lower() == ".zip":
        if args.study is not None:
            raise ParameterError(f"--study is for a report; {args.path} is a bundle, checked "
                                 f"against itself or, with --against OUT, its batch folder.")
        return verify_of_bundle(args)
    if args.against is not None:
        raise ParameterError(f"--against is for a bundle (.zip); {args.path} is a report: "
                             f"give the study it was made from with --study study.yaml.")
    return verify_of_report(args)


def verify_of_report(args) -> int:
    """``ipeval verify REPORT [--study study.yaml]``: exit 0 when every input file the report's
    stamp records is as it was, 1 when one changed, is missing or is new."""
    from evaluation.report.verify_stamp import verify_report
    check = verify_report(args.path, args.study)
    print("\n".join(check.lines()))
    return 0 if check.ok else 1


def verify_of_bundle(args) -> int:
    """``ipeval verify ZIP``: exit 0 when every hash matches and nothing unapproved is inside."""
    from evaluation.release.verify import verify_bundle
    problems = verify_bundle(args.path, against=args.against)
    if problems:
        print(f"{args.path}: NOT verified ({len(problems)} problem(s)):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{args.path}: verified (every file's SHA-256 matches its manifest; every output "
          f"approved as the rules in force ask).")
    if not args.against:    # a bundle packed anew with its own manifest would pass as well
        print("  This checks the bundle against itself only. To check it against the release "
              "it came from (its record, outputs and decisions), run: ipeval verify "
              f"{args.path} --against BATCH_OUTPUT")
    return 0


def _user() -> str:
    import getpass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
