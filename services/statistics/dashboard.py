"""The statistics dashboard: one HTML page with charts as inline SVG, rendered here on the server.

No script, no outside font or stylesheet: the page works offline and on a projector (large type,
high contrast). The browser brings its key in a cookie set by the key form (HttpOnly,
SameSite=Strict, only sent to /dashboard); docs/statistics.md explains the choice.
"""
from __future__ import annotations

import csv
import io
from html import escape

from werkzeug.wrappers import Response

from shared.http import PAGE_HEADERS

from services.statistics import figures

COOKIE = "meldpunt_statistics_key"
COOKIE_PATH = "/dashboard"
COOKIE_SECONDS = 8 * 3600  # one working day, then the key is asked again


CSS = """
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; font-size: 22px; margin: 0; color: #111;
       background: #fff; line-height: 1.4; }
header { background: #01689b; color: #fff; padding: 16px 32px; }
header h1 { margin: 0; font-size: 36px; }
header p { margin: 4px 0 0; }
main { padding: 16px 32px 48px; }
form.filters { display: flex; flex-wrap: wrap; gap: 16px 32px; align-items: end; margin: 8px 0 24px; }
label { display: block; font-weight: bold; }
input, select, button { font-size: 22px; padding: 6px 10px; }
button { background: #01689b; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
.quick a { margin-right: 16px; color: #01689b; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 16px; }
.tile { border: 3px solid #01689b; border-radius: 6px; padding: 12px 16px; }
.tile .value { font-size: 44px; font-weight: bold; }
.tile .note { font-size: 18px; color: #333; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(640px, 1fr)); gap: 24px; margin-top: 24px; }
section.chart h2 { font-size: 28px; margin: 8px 0; }
svg text { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; }
.notice { background: #fff4c2; border-left: 8px solid #c08a00; padding: 8px 16px; }
.error { background: #fde2e1; border-left: 8px solid #b00020; padding: 8px 16px; }
table.region { border-collapse: collapse; margin-top: 16px; }
table.region th, table.region td { border: 1px solid #999; padding: 6px 12px; text-align: right; }
table.region th:first-child, table.region td:first-child { text-align: left; }
footer { font-size: 18px; color: #333; margin-top: 32px; }
"""

LABELS = {
    "niet_verwezen": "niet verwezen", "verwezen": "verwezen, nog geen aangifte", "aangifte": "aangifte gedaan",
    "op_tijd": "op tijd", "te_laat": "te laat", "nog_geen_contact": "nog geen contact",
    "alleen_hier": "alleen in deze gemeente", "ook_elders": "ook in een andere gemeente",
    "triage": "triage", "nazorg": "nazorg", "politie": "politie (acceptatie)", "onbekend": "onbekend",
}


def label_of(code: str) -> str:
    return LABELS.get(code, code.replace("_", " "))


def page_response(html: str, status: int = 200) -> Response:
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


def redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location, **PAGE_HEADERS})


def set_key_cookie(response: Response, key: str) -> None:
    response.set_cookie(COOKIE, key, max_age=COOKIE_SECONDS, path=COOKIE_PATH, httponly=True, samesite="Strict")


def to_csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="stylesheet" href="/dashboard/dashboard.css"></head><body>{body}</body></html>')


def login_page(error: str | None = None) -> str:
    problem = f'<p class="error">{escape(error)}</p>' if error else ""
    return _page("Meldpunt Hub — statistiek", (
        '<header><h1>Meldpunt Hub — statistiek</h1></header><main>'
        f'{problem}<form method="post" action="/dashboard/session">'
        '<p><label for="key">API-sleutel (rol staff, coordinator of analyst)</label>'
        '<input id="key" name="key" type="password" size="60" autocomplete="off" required></p>'
        '<p><button type="submit">Open het dashboard</button></p></form>'
        '<p>De sleutel blijft alleen in deze browser (een cookie voor /dashboard), een werkdag lang.</p>'
        '</main>'))


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def _change(value) -> str:
    if value is None:
        return ""
    if value > 0:
        return f"▲ {value}"
    if value < 0:
        return f"▼ {-value}"
    return "= 0"


def bar_chart(chart_id: str, items: list[tuple[str, object, object]], hidden_label: str) -> str:
    """Horizontal bars, one per item (label, value, previous value): the value as a filled bar and
    number, the previous period as a thin line under it. A hidden value shows its label, no bar."""
    numbers = [x for _, value, previous in items for x in (value, previous) if isinstance(x, int)]
    top = max(numbers + [1])
    row, label_w, bar_w, width = 52, 360, 440, 900
    height = row * len(items) + 16
    parts = [f'<svg class="bar-chart" id="{escape(chart_id)}" role="img" width="100%" viewBox="0 0 {width} {height}"'
             f' xmlns="http://www.w3.org/2000/svg" aria-label="{escape(chart_id)}">']
    for index, (label, value, previous) in enumerate(items):
        y = 8 + index * row
        parts.append(f'<text x="{label_w - 12}" y="{y + 30}" text-anchor="end" font-size="22" fill="#111">'
                     f'{escape(label)}</text>')
        if isinstance(value, int):
            w = round(bar_w * value / top)
            parts.append(f'<rect class="bar" x="{label_w}" y="{y + 6}" width="{w}" height="30" fill="#01689b"/>')
            text = str(value)
        else:
            w = 0
            text = hidden_label if value == hidden_label else "—"
        parts.append(f'<text x="{label_w + w + 10}" y="{y + 30}" font-size="22" font-weight="bold" fill="#111">'
                     f'{escape(text)}</text>')
        if isinstance(previous, int):
            pw = round(bar_w * previous / top)
            parts.append(f'<rect class="previous" x="{label_w}" y="{y + 40}" width="{pw}" height="6" fill="#8fcae7"/>')
    parts.append("</svg>")
    return "".join(parts)


def render(result: dict, period: figures.Period, region, principal, error: str | None = None) -> str:
    scope = result["scope"]
    names = {m.code: m.name for m in region.municipalities}
    scope_name = region.name if scope == figures.REGION else f"{names[scope]} ({scope})"
    hidden = result["suppression"]["label"] if result["suppression"] else "<5"
    incidents, shares, contact = result["incidents"], result["shares"], result["first_contact_days"]

    options = [f'<option value="{figures.REGION}"{" selected" if scope == figures.REGION else ""}>'
               f'{escape(region.name)} (regio)</option>']
    options += [f'<option value="{m.code}"{" selected" if scope == m.code else ""}>{escape(m.name)} ({m.code})</option>'
                for m in region.municipalities]
    quick = []
    for kind, text in (("week", "deze week"), ("month", "deze maand"), ("quarter", "dit kwartaal"), ("year", "dit jaar")):
        p = figures.period_containing(kind, period.last)
        quick.append(f'<a href="/dashboard?period={p.label}&amp;municipality={scope}">{text} ({p.label})</a>')
    prev = period.previous()
    quick.append(f'<a href="/dashboard?period={prev.label}&amp;municipality={scope}">vorige ({prev.label})</a>')

    notice = ("" if result["exact"] else
              f'<p class="notice">Kleine aantallen (1 t/m {result["suppression"]["threshold"] - 1}) staan als '
              f'"{escape(hidden)}", en soms ook een ander getal, zodat niemand ze kan terugrekenen: '
              f'"{escape(hidden)}" betekent "verborgen".</p>')
    problem = f'<p class="error">{escape(error)}</p>' if error else ""

    breaches = result["tables"]["deadline_breach"]
    tiles = [
        ("Incidenten", _fmt(incidents["value"]), f'{_change(incidents["change"])} t.o.v. {prev.label} '
                                                 f'({_fmt(incidents["previous"])})'),
        ("Naar de politie verwezen", _pct(shares["referred_to_police_pct"]), "van de incidenten"),
        ("Met aangifte", _pct(shares["aangifte_pct"]), "van de incidenten"),
        ("Nazorg: eerste contact op tijd", _pct(shares["aftercare_first_contact_on_time_pct"]),
         "van de bereikte melders"),
        ("Dagen tot eerste contact", f'{_fmt(contact["median"])} / {_fmt(contact["p90"])}',
         f'mediaan / 90e percentiel (n = {_fmt(contact["n"])})'),
        ("Nazorgplannen voltooid", _fmt(shares["aftercare_plans_completed"]),
         f'{_pct(shares["aftercare_plans_completed_pct"])} van de afgesloten plannen'),
        ("Termijnen overschreden", _fmt(breaches["total"]), f'{_change(breaches["change"]["total"])} '
                                                           f't.o.v. {prev.label}'),
    ]
    tiles_html = "".join(f'<div class="tile"><div>{escape(t)}</div><div class="value">{escape(v)}</div>'
                         f'<div class="note">{escape(n)}</div></div>' for t, v, n in tiles)

    charts = []
    if scope == figures.REGION:
        police = result["tables"]["police"]
        items = [(names[row["municipality"]], row["total"], None) for row in police["rows"]]
        charts.append(_section("Incidenten per gemeente", bar_chart("chart-municipalities", items, hidden)))
    for figure, table in result["tables"].items():
        items = [(label_of(c), table["values"][c], table["previous"]["values"][c]) for c in table["columns"]]
        charts.append(_section(table["title"], bar_chart(f"chart-{figure}", items, hidden)))

    body = (
        f'<header><h1>Meldpunt Hub — {escape(scope_name)}</h1>'
        f'<p>{escape(_period_text(period))} · vergeleken met {escape(prev.label)} · '
        f'ingelogd als {escape(principal.municipality)} ({escape(principal.role)})</p></header><main>'
        f'{problem}<form class="filters" method="get" action="/dashboard">'
        f'<div><label for="period">Periode</label><input id="period" name="period" value="{escape(period.label)}"'
        f' size="10" placeholder="2026-W09"></div>'
        f'<div><label for="municipality">Gemeente</label><select id="municipality" name="municipality">'
        f'{"".join(options)}</select></div><div><button type="submit">Toon</button></div></form>'
        f'<p class="quick">{"".join(quick)}</p>{notice}'
        f'<div class="tiles">{tiles_html}</div><div class="charts">{"".join(charts)}</div>'
        f'<footer><p>Periode: ISO-week (2026-W09), maand (2026-03), kwartaal (2026-Q1) of jaar (2026). '
        f'Een incident telt in de periode waarin het gemeld is. Lichte balk: vorige periode. '
        f'<a href="/api/v1/statistics/figures?period={escape(period.label)}&amp;municipality={escape(scope)}'
        f'&amp;format=csv">CSV</a> (met de sleutel in de Authorization-header).</p>'
        f'<form method="post" action="/dashboard/logout"><button type="submit">Afmelden</button></form></footer>'
        f'</main>')
    return _page(f"Meldpunt Hub — statistiek {period.label}", body)


def _section(title: str, svg: str) -> str:
    return f'<section class="chart"><h2>{escape(title)}</h2>{svg}</section>'


def _pct(value) -> str:
    return "—" if value is None else f"{_fmt(float(value))}%"


def _period_text(period: figures.Period) -> str:
    kind = {"week": "week", "month": "maand", "quarter": "kwartaal", "year": "jaar"}[period.kind]
    return f"{kind} {period.label} ({period.first.isoformat()} t/m {period.last.isoformat()})"
