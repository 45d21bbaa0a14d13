"""The HTML templates of a batch's pages (jinja2, autoescaped): inline CSS, no external
resources, since the pages are read on machines with a closed network."""
from __future__ import annotations

import jinja2

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem 2rem;color:#1b1b1b;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.2rem} .summary{color:#444;margin:.2rem 0 1rem} .muted{color:#777}
table{border-collapse:collapse;width:100%;font-size:.9rem} th{background:#f3f3f3}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.status{font-weight:600;padding:.05rem .4rem;border-radius:.3rem;white-space:nowrap}
.status-ok{background:#e3f1e4;color:#1b5e20} .status-bad{background:#fbe4e4;color:#8e1b1b}
.status-wait{background:#fff4d6;color:#6d4c00} ul.plain{list-style:none;margin:0;padding:0}
pre.error{white-space:pre-wrap;margin:.3rem 0 0;font-size:.8rem;color:#8e1b1b;background:#fdf5f5;
padding:.4rem;border-radius:.3rem;max-height:14rem;overflow:auto} img{max-width:100%;height:auto}
"""

# The favicon is given (as nothing) so that the browser asks the server for none.
HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ page_title }}</title><style>{{ css }}</style></head>
"""

INDEX = HEAD + """<body>
<h1>{{ title }}</h1>
<p class="summary" id="summary">{{ summary }}</p>
{% if comparison %}<p><a href="{{ comparison }}">Comparison across runs</a>{% if key_text %}
 ({{ key_text }}){% endif %}</p>
{% else %}<p class="muted" id="no-comparison">{{ no_comparison }}</p>{% endif %}
<table id="runs">
<thead><tr><th>Status</th><th>Run</th><th>Key results</th><th>Time</th><th>Links</th></tr></thead>
<tbody>
{% for run in runs %}<tr class="run" data-status="{{ run.status }}" data-run-id="{{ run.run_id }}">
<td><span class="status status-{{ run.tone }}">{{ run.status }}</span></td>
<td><div class="label">{{ run.label }}</div>
{% if run.grid %}<ul class="plain grid">{% for name, value in run.grid %}
<li><span class="muted">{{ name }}</span> = {{ value }}</li>{% endfor %}</ul>{% endif %}
{% if run.rules %}<div class="rules">Output check: {{ run.rules }}</div>{% endif %}
{% if run.internal %}<div class="muted internal">Internal files (not linked, not for sharing):
{{ run.internal }}/</div>{% endif %}
{% if run.error %}<pre class="error">{{ run.error }}</pre>{% endif %}</td>
<td>{% if run.results %}<ul class="plain results">{% for r in run.results %}
<li><span class="muted">{{ r.name }}</span>: {{ r.text }}</li>{% endfor %}</ul>
{% else %}<span class="muted">none</span>{% endif %}</td>
<td class="num">{{ run.seconds }}<br><span class="muted">{{ run.attempts }}</span></td>
<td><ul class="plain links">{% for text, href in run.links %}
<li><a href="{{ href }}">{{ text }}</a></li>{% endfor %}</ul></td>
</tr>
{% endfor %}</tbody></table>
</body></html>
"""

COMPARISON = HEAD + """<body>
<p><a href="{{ index }}">← All runs</a></p>
<h1>Comparison across runs</h1>
<p class="summary">{{ key_text }}; one row per run, labelled by {{ by }}. Points and 95 % intervals
as the runs recorded them; estimates resting on fewer than {{ min_cell }} people are not shown.</p>
<img src="{{ png }}" alt="Forest plot of {{ key_text }} across runs">
<table id="estimates">
<thead><tr><th>{{ by }}</th><th>Estimate name</th><th>Estimate</th><th>95 % CI</th>
<th>p-value</th><th>n</th><th>Run</th></tr></thead>
<tbody>
{% for r in rows %}<tr><td>{{ r.by }}</td><td>{{ r.name }}</td><td class="num">{{ r.estimate }}</td>
<td class="num">{{ r.ci }}</td><td class="num">{{ r.p }}</td><td class="num">{{ r.n }}</td>
<td>{% if r.href %}<a href="{{ r.href }}">{{ r.label }}</a>{% else %}{{ r.label }}{% endif %}
</td></tr>
{% endfor %}</tbody></table>
</body></html>
"""

ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
