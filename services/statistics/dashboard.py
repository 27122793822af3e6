"""The statistics dashboard: figures in, HTML out (templates/, texts in locale/ as gettext catalogues).

`render_dashboard` and `render_login` are plain functions of their arguments. People see the page in
the workbench, behind its sign-in (it asks for it with the person's assertion); `render_login` is
what a browser without one gets: where to go instead. No key form, no key cookie.
No script, no outside font or stylesheet: the page works offline and on a projector (large type,
high contrast); the charts are inline SVG made here.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Response

from shared import i18n, icons
from shared.http import PAGE_HEADERS

from services.statistics import figures

HERE = Path(__file__).parent
LANGUAGES = ("nl", "en")
CSS = (HERE / "static" / "dashboard.css").read_text(encoding="utf-8")


N_ = i18n.N_


# How a code reads on the page (the JSON and CSV keep the codes). Codes not listed read as the
# code with spaces (a region's own category, say).
LABELS = {
    "niet_verwezen": N_("not referred"), "verwezen": N_("referred, no report yet"),
    "aangifte": N_("report to the police made"), "op_tijd": N_("on time"), "te_laat": N_("late"),
    "nog_geen_contact": N_("no contact yet"), "alleen_hier": N_("only in this municipality"),
    "ook_elders": N_("also in another municipality"), "triage": N_("triage"), "nazorg": N_("aftercare"),
    "politie": N_("police (acceptance)"), "onbekend": N_("unknown"),
    "verbale_agressie": N_("verbal aggression"), "bedreiging": N_("threat"), "intimidatie": N_("intimidation"),
    "fysiek_geweld": N_("physical violence"), "discriminatie": N_("discrimination"), "vernieling": N_("vandalism"),
    "ondermijning": N_("subversion"), "overig": N_("other"), "seksuele_intimidatie": N_("sexual harassment"),
    "doxing": N_("doxing"),
    "ambtenaar": N_("civil servant"), "burgemeester": N_("mayor"), "wethouder": N_("alderman"),
    "raadslid": N_("council member"), "griffier": N_("clerk of the council"), "handhaver": N_("enforcement officer"),
    "balie": N_("counter"), "kantoor": N_("office"), "woning": N_("home"), "openbare_ruimte": N_("public space"),
    "raadsvergadering": N_("council meeting"), "telefoon": N_("telephone"), "email_brief": N_("e-mail or letter"),
    "online": N_("online"), "api": N_("API"), "formulier": N_("form"), "brief": N_("letter"), "email": N_("e-mail"),
    "import": N_("import"), "acuut": N_("acute"), "hoog": N_("high"), "normaal": N_("normal"), "laag": N_("low"),
    "veroordeling": N_("conviction"), "sepot": N_("dismissed"), "schikking": N_("settlement"),
    "completed": N_("completed"), "declined": N_("declined"), "no_contact_possible": N_("no contact possible"),
    "referred_elsewhere": N_("referred elsewhere"), "other": N_("other"),
}
TITLES = {
    "category": N_("Incidents by category"), "target_role": N_("Incidents by role of the person targeted"),
    "location_type": N_("Incidents by kind of place"), "channel": N_("Incidents by channel of reporting"),
    "urgency": N_("Incidents by urgency"), "police": N_("Police: referred and reported"),
    "police_outcome": N_("Police: outcome of closed referrals"), "aftercare": N_("Aftercare: first contact"),
    "aftercare_closed": N_("Aftercare: closed plans"), "deadline_breach": N_("Incidents with a missed deadline"),
    "repeat_perpetrator": N_("Incidents with a perpetrator known before"),
}
NOTES = {
    figures.NOTE_OTHERS_TOTALS: N_(
        "Of another municipality only its number of incidents is shown, per month, quarter and year, "
        "and only where no small number can be worked out from it; its breakdowns stay with it."),
    figures.NOTE_WEEKS: N_("A week is too short: another municipality's figures of a week are not shown."),
    figures.NOTE_SINGLE_HOLDER: N_(
        "A municipality has one mayor and one clerk of the council: a count of incidents against "
        "them is about one person, so the region's count is not shown."),
    figures.NOTE_FEW: N_(
        "With fewer than three municipalities each could subtract its own figures from the region's "
        "and read the other's: only your own municipality's figures are shown."),
    figures.NOTE_SCOPE_TOTAL: N_(
        "This municipality's total is hidden: it is small, or hiding it keeps a small number "
        "elsewhere from being worked out."),
}
KINDS = {"week": N_("week"), "month": N_("month"), "quarter": N_("quarter"), "year": N_("year")}
QUICK = (("week", N_("this week")), ("month", N_("this month")), ("quarter", N_("this quarter")),
         ("year", N_("this year")))


# ------------------------------------------------------------------ catalogues
@lru_cache(maxsize=None)
def translations(lang: str) -> Translations:
    """The language's catalogue (shared/i18n.py), compiled from its .po file when first asked."""
    return i18n.translations(HERE / "locale", lang)


@lru_cache(maxsize=None)
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(lang), newstyle=True)
    return env


def language(request) -> str:
    """?lang= first, then Accept-Language; Dutch by default."""
    chosen = (request.args.get("lang") or "").lower()
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "nl"


# ------------------------------------------------------------------ numbers and charts
def fmt(value) -> str:
    """A number as the page prints it: hidden is MARKER, no number is a dash, decimals with a comma."""
    if figures.is_hidden(value):
        return figures.MARKER
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def pct(value) -> str:
    return fmt(value) if value is None or figures.is_hidden(value) else f"{fmt(float(value))}%"


def change(value) -> str:
    if figures.is_hidden(value):
        return figures.MARKER
    if value is None:
        return ""
    if value > 0:
        return f"▲ {value}"
    if value < 0:
        return f"▼ {-value}"
    return "= 0"


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    width: int          # of the bar (0 for a hidden number)
    text: str           # the number, or MARKER
    previous: int | None  # width of the previous period's line, None when hidden or absent


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    width: int
    height: int
    label_width: int
    bars: list[Bar]


def bar_chart(chart_id: str, title: str, items: list[tuple[str, object, object]]) -> Chart:
    """Horizontal bars (label, value, previous value): the value as a bar and its number, the
    previous period as a thin line under it. A hidden number has no bar, only the marker."""
    numbers = [x for _, value, previous in items for x in (value, previous) if isinstance(x, int)]
    top = max(numbers + [1])
    row, label_w, bar_w, width = 52, 360, 440, 900
    bars = []
    for index, (label, value, previous) in enumerate(items):
        bars.append(Bar(label, 8 + index * row, round(bar_w * value / top) if isinstance(value, int) else 0,
                        fmt(value), round(bar_w * previous / top) if isinstance(previous, int) else None))
    return Chart(chart_id, title, width, row * len(items) + 16, label_w, bars)


def quick_links(today: date, period: figures.Period) -> list[tuple[str, str]]:
    """(text id, period label): this week, month, quarter and year as of `today`; the periods
    before and after the one shown."""
    links = [(text, figures.period_containing(kind, today).label) for kind, text in QUICK]
    links.append((N_("previous"), period.previous().label))
    following = figures.period_containing(period.kind, period.last + (date.resolution * 1))
    links.append((N_("next"), following.label))
    return links


# ------------------------------------------------------------------ pages
def render_dashboard(result: dict, period: figures.Period, *, region_name: str, municipalities: dict[str, str],
                     signed_in_as: str, today: date, lang: str = "nl", error: str | None = None,
                     csv_href: str | None = None, logout_action: str | None = None) -> str:
    """The dashboard page of `result` (figures.figures plus period and previous_period).

    `municipalities` maps codes to names in the region's order; `today` decides the quick links."""
    _ = translations(lang).gettext
    scope = result["scope"]
    scope_name = region_name if scope == figures.REGION else f"{municipalities[scope]} ({scope})"
    prev = period.previous()
    incidents, shares, contact = result["incidents"], result["shares"], result["first_contact_days"]
    breaches = result["tables"]["deadline_breach"]
    tiles = [
        (_("Incidents"), fmt(incidents["value"]),
         _("%(change)s against %(previous)s (%(value)s)") % {
             "change": change(incidents["change"]), "previous": prev.label, "value": fmt(incidents["previous"])}),
        (_("Referred to the police"), pct(shares["referred_to_police_pct"]), _("of the incidents")),
        (_("With a report to the police"), pct(shares["aangifte_pct"]), _("of the incidents")),
        (_("Aftercare: first contact on time"), pct(shares["aftercare_first_contact_on_time_pct"]),
         _("of the reporters reached")),
        (_("Days to first contact"), f'{fmt(contact["median"])} / {fmt(contact["p90"])}',
         _("median / 90th percentile (n = %(n)s)") % {"n": fmt(contact["n"])}),
        (_("Aftercare plans completed"), fmt(shares["aftercare_plans_completed"]),
         _("%(share)s of the closed plans") % {"share": pct(shares["aftercare_plans_completed_pct"])}),
        (_("Deadlines missed"), fmt(breaches["total"]),
         _("%(change)s against %(previous)s") % {"change": change(breaches["change"]["total"]), "previous": prev.label}),
    ]
    charts = []
    if scope == figures.REGION:
        police = result["tables"]["police"]
        charts.append(bar_chart("chart-municipalities", _("Incidents by municipality"),
                                [(municipalities[row["municipality"]], row["total"], None) for row in police["rows"]]))
    for figure, table in result["tables"].items():
        items = [(_(LABELS[c]) if c in LABELS else c.replace("_", " "), table["values"][c],
                  table["previous"]["values"][c]) for c in table["columns"]]
        charts.append(bar_chart(f"chart-{figure}", _(TITLES.get(figure, figure)), items))
    suppression = result["suppression"]
    return environment(lang).get_template("dashboard.html").render(
        lang=lang, other_lang="en" if lang == "nl" else "nl", period=period, prev=prev,
        kind=_(KINDS[period.kind]), scope=scope, scope_name=scope_name, region_name=region_name,
        municipalities=municipalities, signed_in_as=signed_in_as, error=error, tiles=tiles, charts=charts,
        quick=[(_(text), label) for text, label in quick_links(today, period)],
        suppression=suppression, marker=figures.MARKER,
        notes=[_(NOTES[code]) for code in (suppression or {}).get("notes", []) if code in NOTES],
        csv_href=csv_href or f"/api/v1/statistics/figures?period={period.label}&municipality={scope}&format=csv",
        logout_action=logout_action)


def render_login(lang: str = "nl", error: str | None = None) -> str:
    return environment(lang).get_template("login.html").render(lang=lang, other_lang="en" if lang == "nl" else "nl",
                                                               error=error)


def page_response(html: str, status: int = 200) -> Response:
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


def to_csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


# ------------------------------------------------------------------ favicon
@lru_cache(maxsize=None)
def favicon() -> bytes:
    """/favicon.ico: the bar chart of the staff pages, one definition with the workbench's (shared/icons.py)."""
    return icons.bar_chart()
