"""Hide more of the table being shown when the report's tables together give a hidden count.

The rules of a table (small counts, their complements, a hidden cell never alone in a line)
see that table and the names of counts shown before. Counts marked with the people they count
(:func:`evaluation.estimates.with_rows`) are tied to other tables by sums a reader can do with
any of them: the people with an IP counted in the coverage table are Table 1's treated count
plus those the analysis left out. Those sums are checked here by the report's own attacker
(:func:`.attacker.attack` over the ledger), and a cell of the table being shown is hidden for
each hidden count it finds — the same loop a batch's release runs over all its reports
(:mod:`evaluation.release.protect`). Cells shown by earlier tables cannot be taken back; what
no cell of this table can protect is left to the output check, which then finds it.
"""
from __future__ import annotations

from evaluation.disclosure.attacker import attack

__all__ = ["repair_table"]


def repair_table(ledger, rules, own: set, *, max_rounds: int = 30) -> list[str]:
    """Hide counts among ``own`` (ids the table being shown is the first to show) until the
    attacker works out no hidden count of ``ledger``; returns the ids hidden, in order. A
    count the reader can work out from the other tables protects nothing and is not chosen."""
    hidden: list[str] = []
    useless: set = set()
    exposed = _exposed(ledger, rules)
    relations = ledger.log(rules)["relations"]     # hiding changes states, never relations
    for _ in range(max_rounds):
        if not exposed:
            break
        candidates = [c for t in exposed for c in _near(relations, ledger, t, own - useless)]
        chosen = None
        for candidate in dict.fromkeys(candidates):
            chosen = _try(ledger, rules, [candidate])
            # hidden alone it is worked out from the others (a line that adds up to a total
            # shown elsewhere): hidden with the next count of its line it may not be
            for partner in ([] if chosen else _near(relations, ledger, candidate,
                                                    own - useless - {candidate})[:4]):
                chosen = _try(ledger, rules, [candidate, partner])
                if chosen:
                    break
            if chosen:
                break
            useless.add(candidate)
        if not chosen:
            break
        hidden += chosen
        exposed = _exposed(ledger, rules)
    return hidden


def _try(ledger, rules, cells: list) -> list:
    """Hide ``cells``; keep them hidden (and return them) when none of them is then worked
    out, else show them again (and return [])."""
    before = {c: ledger.cells[c]["state"] for c in cells}
    for c in cells:
        small = bool(rules.small_count([ledger.cells[c]["value"]])[0])
        ledger.cells[c]["state"] = "primary" if small else "secondary"
    if not set(cells) & set(_exposed(ledger, rules)):
        return list(cells)
    for c, state in before.items():
        ledger.cells[c]["state"] = state
    return []


def _exposed(ledger, rules) -> list[str]:
    log = ledger.log(rules)
    found = attack(log["cells"], log["relations"], min_cell=rules.min_cell,
                   primary_marks=(rules.suppressed_text,))
    return list(found.loc[found["exposed"], "cell"]) if len(found) else []


def _near(relations: list, ledger, target: str, own: set, depth: int = 4) -> list[str]:
    """The counts of ``own`` still shown nearest ``target`` through the relations (breadth
    first), smallest first, as classic secondary suppression chooses."""
    seen, frontier = {target}, {target}
    for _ in range(depth):
        near = set()
        for rel in relations:
            members = [rel["total"], *rel["parts"]] if "total" in rel else [rel["count"], rel["of"]]
            if frontier & set(members):
                near |= set(members) - seen
        mine = [m for m in near if m in own and ledger.state(m) == "shown"]
        if mine:
            return sorted(mine, key=lambda m: (ledger.cells[m]["value"] <= 0,
                                               ledger.cells[m]["value"], str(m)))
        if not near:
            return []
        seen |= near
        frontier = near
    return []
