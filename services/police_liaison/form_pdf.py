"""The police information form as a PDF (fpdf2): the same form as the JSON answer (domain.information_form),
laid out for the liaison and the victim. It prints only what the form holds, so the aangifte option's
exclusions (no home address or private phone with onder nummer or domiciliekeuze) hold for the PDF too."""
from __future__ import annotations

import unicodedata
from datetime import datetime

from fpdf import FPDF

from shared import workdays

# The 7 W's in the order the police ask them, with their Dutch headings.
SEVEN_WS = (("wie", "Wie"), ("wat", "Wat"), ("waar", "Waar"), ("waarmee", "Waarmee"),
            ("op_welke_wijze", "Op welke wijze"), ("wanneer", "Wanneer"), ("waarom", "Waarom"))

LABELS = {
    "aangever": "Aangever", "by": "Aangifte door", "onder_nummer": "Onder nummer", "domiciliekeuze": "Domiciliekeuze",
    "victim": "Slachtoffer", "employer": "Werkgever", "mandate": "Mandaat", "signed_by": "Ondertekend door",
    "signed_at": "Ondertekend op", "scope": "Reikwijdte", "name": "Naam", "role": "Functie", "address": "Adres",
    "phone": "Telefoon", "email": "E-mail", "address_is": "Adres is", "identity": "Identiteit",
    "target_role": "Functie van het slachtoffer", "daders": "Daders", "description": "Omschrijving",
    "relation": "Relatie", "online_handle": "Online naam", "vehicle": "Voertuig", "licence_plate": "Kenteken",
    "categories": "Soort incident", "location_type": "Soort locatie", "note": "Toelichting",
    "occurred_at": "Datum en tijd",
}
WORDS = {"victim": "het slachtoffer", "employer": "de werkgever, namens het slachtoffer", True: "ja", False: "nee"}
# Typography outside Latin-1, which the PDF's standard fonts cannot show, in their nearest plain form.
PLAIN = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                       "\u2026": "...", "\u20ac": "EUR", "\u00a0": " ", "\u2022": "-"})


def plain(text) -> str:
    """Text the standard PDF fonts can show (Latin-1): typography replaced, accents outside Latin-1 taken off,
    anything else a '?' — a reporter's description may hold any character."""
    out = []
    for char in str(text).translate(PLAIN):
        if ord(char) < 256:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


def _value(key: str, value) -> str:
    if key == "occurred_at" and isinstance(value, str):
        try:
            value = datetime.fromisoformat(value).astimezone(workdays.AMSTERDAM).strftime("%d-%m-%Y %H:%M")
        except ValueError:
            pass
    if isinstance(value, list):
        return ", ".join(str(v).replace("_", " ") for v in value)
    if isinstance(value, bool) or (key == "by" and value in WORDS):
        return WORDS[value]
    if key in ("target_role", "location_type"):
        return str(value).replace("_", " ")
    return str(value)


def _lines(data, depth: int = 0):
    """(indent, label, text) for each filled field of a part of the form, nested parts indented."""
    for key, value in data.items():
        if value is None or value == [] or value == {}:
            continue
        label = LABELS.get(key, key.replace("_", " "))
        if isinstance(value, dict):
            yield depth, label, ""
            yield from _lines(value, depth + 1)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for number, item in enumerate(value, 1):
                yield depth, f"{label[:-1] if label.endswith('s') else label} {number}", ""
                yield from _lines(item, depth + 1)
        else:
            yield depth, label, _value(key, value)


def render(form: dict) -> bytes:
    """The form as PDF bytes: a heading, the 7 W's each with what the form holds, the VPT reminder."""
    pdf = FPDF(format="A4")
    pdf.set_title("Informatieformulier politie")  # no names in the metadata
    pdf.set_creator("Meldpunt Hub")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(width, 9, "Informatieformulier voor de politie", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(width, 5, plain(f"Doorverwijzing {form.get('referral_id')} - basisteam {form.get('police_unit')} - "
                                   f"urgentie {form.get('urgency')}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for key, heading in SEVEN_WS:
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(width, 7, heading, new_x="LMARGIN", new_y="NEXT")
        for depth, label, text in _lines(form.get(key) or {}):
            pdf.set_x(pdf.l_margin + 6 * depth)
            pdf.set_font("Helvetica", "B" if not text else "", 10)
            pdf.multi_cell(width - 6 * depth, 5, plain(f"{label}: {text}" if text else label),
                           new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(width, 6, "Veilige Publieke Taak (VPT)", border="LTR", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(width, 5, plain(form.get("vpt") or ""), border="LBR", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
