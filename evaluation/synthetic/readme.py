"""The README written beside a synthetic study: what is in it and what the truth is."""
from __future__ import annotations

from evaluation.synthetic.config import SyntheticConfig


def readme_text(cfg: SyntheticConfig, truth: dict) -> str:
    eff = truth["effects"]
    g, c, t = eff["goal_retention"], eff["daily_chaos"], eff["gas_tscore"]
    lines = [
        f"# Synthetic study (seed {cfg.seed})",
        "",
        "Written by `ipeval synth`; every file is drawn from one latent population, so the sources",
        "join on person and agree with one another. **Nothing here is about real people.** Regenerate",
        f"with `ipeval synth OUT --persons {cfg.persons} --institutions {cfg.institutions} --seed {cfg.seed}`",
        "(deterministic: the same seed gives the same bytes).",
        "",
        "## Files",
        "",
        "| file | rows | source | what |",
        "|---|---|---|---|",
    ]
    what = {
        "persons": "registry extract: age, sex, ROP group, severity (0–10), months in service, "
                   "municipality and its size (`;`, decimal comma, UTF-8 with BOM)",
        "residents": "residents' IP questionnaire, Nettskjema style (`$`-columns): has_ip, "
                     "involvement, chairs own meetings, usefulness, goal retention, chaos_1–6, gas_1–3",
        "staff": "staff questionnaire (Excel): usefulness of IP, leadership drive, how IP is presented",
        "fit": "FIT sessions: ORS items before and SRS items after each session (0–10, one decimal)",
        "fit_episodes": "FIT episodes: start, end, planned sessions, end reason (dropout or planned)",
        "inspire": "INSPIRE: 20 support items (0–4) with 'important to me' flags, 7 relationship items",
        "inspire_brief": "Brief INSPIRE: 5 items (0–4)",
        "brukerplan": "BrukerPlan mapping per year: 8 domains (1–5), IP and crisis plan "
                      "(`;`, Windows-1252)",
        "interviews": "coded interview segments: unit, coder, code ('' = seen, no code), text",
        "codebook": "interview codes with their parent codes",
        "programme_starts": "programme starts: programme, institution, department (empty = "
                            "institution-wide), start_date",
        "routine_waves": "routine survey every half-year (repeated cross-sections, anonymous): "
                         "institution, department, period, goal_retention (0/1), daily_chaos (1–5)",
    }
    for file, info in truth["files"].items():
        lines.append(f"| `{file}` | {info['rows']} | {info['source']} | {what[info['source']]} |")
    lines += [
        "",
        "Also here: `study.yaml` (the manifest), `ground_truth.json` (everything below, and more),",
        "and `pseudonym.key`, a key derived from the seed so that the files are reproducible. A real",
        "study keeps a random key outside the study folder (or in `IPEVAL_PSEUDONYM_KEY`).",
        "",
        "## The truth",
        "",
        f"- {truth['config']['persons']} persons in {len(truth['institutions'])} institutions; IP coverage "
        f"{truth['ip_coverage']:.1%}. The first two institutions run the IP initiative.",
        "- Who gets an IP: more severe cases, the ROP group, longer time in service, larger",
        "  municipalities and the initiative's centres (log-odds in `ip_model`). Severity also",
        "  worsens every outcome, so **the crude IP contrast understates the benefit of an IP**.",
        f"- Goal retention (binary): true ATE {g['ate']:+.3f} on the risk-difference scale "
        f"(ATT {g['att']:+.3f}; constant conditional odds ratio {g['conditional_odds_ratio']:.3f}); "
        f"crude difference {g['crude']:+.3f}.",
        f"- Daily chaos (mean of chaos_1–6 after reversing chaos_1 and chaos_3; 1–5, higher = more "
        f"chaos): true ATE {c['ate']:+.3f} (ATT {c['att']:+.3f}); crude difference {c['crude']:+.3f}.",
        f"- Goal attainment (Kiresuk–Sherman T, ρ = 0.3): true ATE {t['ate']:+.2f} "
        f"(ATT {t['att']:+.2f}); crude difference {t['crude']:+.2f}.",
        f"- ORS: extra gain with an IP of {eff['ors_ip_x_log_session']['ip_x_log_session']} points per "
        "unit of log(session), conditional on severity.",
        f"- Interviews: coders agree with the true code with probability "
        f"{truth['interviews']['coder_accuracy']}; expected overall nominal Krippendorff's alpha "
        f"{truth['interviews']['expected_alpha_nominal']:.3f}.",
        *_programme_lines(eff),
        "",
        "The ATE and ATT are sample truths from both potential outcomes of every person (drawn with",
        "common random numbers); `*_respondents` restricts them to those who answered the survey.",
        "",
        "## Planted problems",
        "",
        f"{len(truth['planted_problems'])} problems are planted and listed in `planted_problems` with "
        "file, row (1-based, header not counted), column and value: out-of-range item values and",
        "duplicate submissions. Missing items are missing at random given severity",
        "(`missing_values` counts them); they are not errors.",
        "",
    ]
    return "\n".join(lines)


def _programme_lines(eff: dict) -> list[str]:
    ip, fit = eff["programme_ip"], eff["fit_rollout"]
    lines = [f"- IP initiative (`routine_waves`, goal retention): "
             f"{', '.join(ip['treated_institutions'])} from {ip['start']}, compared with "
             f"{', '.join(ip['comparison_institutions']) or 'no institution'}; parallel trends hold "
             "by construction."]
    if ip["att"] is not None:
        lines[-1] += (f" True ATT {ip['att']:+.3f} on the risk-difference scale (planted "
                      f"{ip['parameter']:+.2f}).")
    if fit.get("institution"):
        starts = ", ".join(f"{d} {s}" for d, s in fit["departments"].items())
        by_e = ", ".join(f"{e}: {v:+.3f}" for e, v in fit["att_by_event_time"].items())
        lines += [f"- FIT rollout (`routine_waves`, daily chaos) in {fit['institution']}, "
                  f"staggered: {starts}; never: {', '.join(fit['never_treated'])}. "
                  f"True ATT {fit['att_overall']:+.3f}",
                  f"  over all treated half-years; by half-years since the start {by_e}. The effect",
                  "  grows with time since adoption, so a naive two-way fixed-effects DiD is biased",
                  "  towards zero; a group-time (Callaway–Sant'Anna) or two-stage estimator is not."]
    return lines
