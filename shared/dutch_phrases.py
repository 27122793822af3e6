"""Dutch phrase matching on lemmas: the language under the triage rules (docs/triage.md, "How the
rules read Dutch"), used by triage for its decision and by intake for its acute check.

A report is analysed once (`analyse`): normalised (case, accents, punctuation, stretched letters),
cut into sentences and clauses, each word lemmatised with simplemma, so that *dreigde*, *bedreigd*
and *dreigt* meet one rule. A pattern (`compile_pattern`) is a lemma sequence with small gaps,
matched within one sentence; separable verbs match split as well as joined (*neersteken* finds
*neer te steken* and *steek je neer*). A match is not counted when the text negates it, retracts
it ("ik dacht eerst …, maar …") or tells of an earlier or someone else's incident: `Hit.scope` says
which, so a rule can ignore it and still explain why. Pure Python, no I/O after the first use.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import simplemma

# ------------------------------------------------------------------ words

# simplemma picks a noun or another verb for a few words reports use as verbs; these win.
LEMMA_FIXES = {
    "staat": "staan", "las": "lezen", "steken": "steken", "steekt": "steken", "pakken": "pakken", "trappen": "trappen", "steek": "steken",
    "hangen": "hangen", "knijpen": "knijpen", "geknepen": "knijpen", "posten": "posten", "lul": "lul",
    "pik": "pik", "geintimideerd": "intimideren", "getrapt": "trappen", "bespuugd": "bespugen",
    "gespuwd": "spugen", "spuwde": "spugen", "lekgestoken": "leksteken", "gedoxt": "doxen",
    "gedoxed": "doxen", "doxte": "doxen", "gestalked": "stalken", "killen": "killen", "gekilled": "killen",
    "dreigende": "dreigend", "bedreigende": "bedreigend", "intimiderende": "intimiderend",
}

# Chat spelling and clitics, to the written word (m'n -> mijn).
SPELLING = {
    "mn": "mijn", "m'n": "mijn", "zn": "zijn", "z'n": "zijn", "d'r": "haar", "'t": "het", "'k": "ik",
    "k": "ik", "ff": "even", "jou'n": "jouw", "wrm": "waarom", "idd": "inderdaad", "nie": "niet",
    "nt": "niet", "gwn": "gewoon", "vd": "van de", "mss": "misschien",
}

# Particles of separable verbs: neer|steken, af|maken, op|hangen, dood|maken, in|slaan.
PARTICLES = ("neer", "af", "op", "aan", "uit", "in", "door", "mee", "om", "over", "toe", "terug", "weg",
             "vast", "dood", "kapot", "lek", "los", "na", "bij", "langs", "tegen", "binnen", "achter",
             "voor", "onder", "open", "dicht", "stuk", "plat", "neder")
PARTICLE_AFTER = 10   # "ik steek je morgen met een mes neer": the particle up to this many words after the verb
PARTICLE_BEFORE = 2   # "neer te steken": up to this many words before it
# A particle that is also a preposition, after the verb and followed by an article or a possessive, is the preposition
# of a phrase, not the verb's particle: "sloeg me in het gezicht" is no *inslaan*, "sloeg de ruit in" is (since
# vr19-2026.16)
PREPOSITION_PARTICLES = frozenset({"in", "op", "aan", "uit", "door", "over", "om"})
PHRASE_STARTS = frozenset({"de", "het", "een", "mijn", "zijn", "haar", "hun", "ons", "onze", "jouw", "uw", "die", "deze",
                           "dat", "dit", "t"})

SMALL_GAP = 2         # words allowed between two pattern words written side by side
LONG_GAP = 10         # words allowed where a pattern says `...`
NEAR = 20             # `A & B`: both within this many words, in either order, in one sentence

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?|'[tks]\b")
_SENTENCE_END = re.compile(r"[.!?;\n]+|\.\.\.")
_CLAUSE_MARK = re.compile(r"[,:()\"“”„–—]| - ")
_STRETCHED = re.compile(r"(.)\1{2,}")

# Words that start a new clause: a negation or a retraction does not reach across them.
CLAUSE_WORDS = frozenset({"maar", "want", "omdat", "doordat", "terwijl", "toen", "nadat", "voordat", "dus",
                          "en", "dan", "daarna", "vervolgens", "echter",
                          # English, for its negations (since vr19-2026.15): "he didn't shout, but he hit me"
                          "but", "and", "because", "then", "when", "while"})


def strip_accents(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


@functools.lru_cache(maxsize=200_000)   # most words were read before: a third of the analysis under cProfile
def normalise_word(word: str) -> str:
    """Lower case, no accents, no stretched letters ('DOOOOD' -> 'dood'), curly apostrophes straight."""
    word = strip_accents(word.lower().replace("’", "'").replace("‘", "'"))
    return _STRETCHED.sub(r"\1\1", word)


@functools.lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The lemma of one normalised word (simplemma's Dutch dictionary, corrected by LEMMA_FIXES)."""
    if word in LEMMA_FIXES:
        return LEMMA_FIXES[word]
    if not word.isalpha():
        return word
    return strip_accents(simplemma.lemmatize(word, lang="nl").lower())


def warm_up() -> None:
    """Load simplemma's Dutch data now (about 0.3 s once), not on the first incident."""
    lemma("dreigde")


# ------------------------------------------------------------------ scope cues

# A negation cue negates a match this close to it in the same clause: (words before the match,
# words after it). "hij heeft mij niet bedreigd", "hij dreigde niet", "er was geen mes". Since vr19-2026.14
# "nergens" reaches as far after as "niet": "hij dreigde verder nergens mee" (one word after kept the threat).
NEGATION_CUES = {"niet": (3, 2), "nooit": (3, 2), "geen": (4, 0), "niemand": (3, 1), "niets": (3, 1),
                 "niks": (3, 1), "zonder": (2, 0), "nergens": (3, 2),
                 # since vr19-2026.15 English, which negates before the verb: "he didn't hit me", "never touched me"
                 "not": (3, 0), "never": (3, 0), "didn't": (3, 0), "didnt": (3, 0), "don't": (3, 0), "dont": (3, 0),
                 "doesn't": (3, 0), "doesnt": (3, 0), "wasn't": (3, 0), "weren't": (3, 0), "nobody": (3, 0),
                 "nothing": (3, 0), "without": (2, 0)}
# Negation words that do not negate here: "niet alleen … maar ook", "dit is geen grap".
NOT_NEGATING_AFTER = {"niet": {"alleen", "normaal", "meer normaal", "voor niets", "voor niks", "te geloven",
                               "zomaar", "eens normaal"},
                      "geen": {"grap", "grapje", "geintje", "spelletje", "flauwekul", "loos dreigement"}}
# In a condition the cue negates only the next word: "als je niet betaalt maak ik je af".
CONDITION_WORDS = frozenset({"als", "indien", "tenzij", "zolang", "wanneer", "mits", "if", "unless"})

# "ik dacht eerst dat hij zou slaan, maar hij liep weg": what was feared, up to the `maar`
# (in this sentence or opening the next), did not happen.
RETRACTION_CUES = frozenset({"denken", "dacht", "vrezen", "verwachten", "bang", "lijken", "leek", "schrikken",
                             "idee", "gevoel", "indruk"})
RETRACTION_END = "maar"

# An earlier incident, or another's, told in passing: counted for nothing now ("mijn collega
# vertelde over een dreigement vorig jaar"). One of these in the clause takes the match out.
EARLIER_CUES = ("vorig jaar", "vorige jaar", "jaar geleden", "jaren geleden", "maanden geleden", "vroeger",
                "ooit", "in het verleden", "destijds", "al eerder", "eerder al", "eerder ook", "vorige keer",
                "vorige melding", "eerdere melding", "in het nieuws", "op het nieuws", "in de krant", "op tv",
                "op televisie", "las ik", "heb ik gelezen", "gelezen dat", "hoorde ik", "gehoord dat",
                "gehoord over", "vertelde over", "vertelde mij over", "verhalen over", "andere gemeente",
                "een andere collega", "jaar terug", "jaren terug", "in mijn vorige baan", "bij mijn vorige werkgever",
                "in 2015", "in 2016", "in 2017", "in 2018", "in 2019", "in 2020", "in 2021", "in 2022", "in 2023",
                "in 2024", "in 2025")
# A cue in the first clause of its sentence ("Vorig jaar werd een collega … bedreigd, hij stond …") frames
# the rest of the sentence as the earlier story, up to a clause with a word of now (EARLIER_NOW_TIME:
# "vorig jaar al, en nu weer"), and the sentences after it that tell on without a word of now or of the
# reporter (EARLIER_NOW): "In 2024 … een schaar. Hij werd toen veroordeeld."
EARLIER_NOW_TIME = frozenset({"vandaag", "gisteren", "gisteravond", "vanochtend", "vanmorgen", "vanmiddag",
                              "vanavond", "vannacht", "nu", "net", "zojuist", "weer", "opnieuw", "nogmaals", "wederom",
                              "ditmaal", "deze", "afgelopen", "sindsdien", "inmiddels", "nog", "steeds", "morgen"})
EARLIER_NOW = EARLIER_NOW_TIME | {"ik", "mij", "me", "mijn", "wij", "we", "ons", "onze"}


# The reporter tells that what was said was a joke or a figure of speech, taken as one ("we moesten er
# allebei om lachen", "bij wijze van spreken", "geen incident"): matches in that sentence and the two
# before it, or the one after it, do not count. The reporter's words, never the perpetrator's: a
# threat said laughing ("zei hij lachend") is still a threat, "haha" inside a quote is not a cue, and
# "het was maar een grapje" is what the perpetrator of a sexual or discriminating remark says.
JOKE_CUES = ("om lachen", "moest lachen", "moesten lachen", "moesten we lachen", "iedereen moest lachen",
             "iedereen lachte", "we lachten", "lachten allemaal", "running gag", "als grap bedoeld",
             "als grapje bedoeld", "dat meen ik niet", "meende het niet", "niet gemeend", "allemaal lol",
             "bij wijze van spreken", "niemand bedoelt er iets mee", "niemand bedoelde er iets mee",
             "niet serieus bedoeld", "geen incident", "eigenlijk geen melding", "geen melding waard",
             "lagen dubbel", "lag dubbel", "lagen allemaal dubbel", "lagen we dubbel",
             # since vr19-2026.11: the reporter calls it a joke, irony or a saying in his own words
             "grapje natuurlijk", "duidelijk een grap", "duidelijk een grapje", "was een grap", "was een grapje",
             "gewoon een grap", "gewoon een grapje", "gewoon een geintje", "volgens mij een grap",
             "bedoeld als woordgrap", "gewoon ironie", "volgens mij humor", "een uitdrukking is",
             "niemand voelt zich bedreigd", "niemand voelde zich bedreigd")
JOKE_BEFORE, JOKE_AFTER = 2, 1   # sentences before / after the cue's sentence that it covers
# The reporter says, in his own words (not inside a quote), that nothing was wrong: "niks aan de hand",
# "verder netjes", "vriendelijk bedoeld", "geen opzet". Like a joke taken as one, matches in that sentence,
# the two before it and the one after it do not count, and the second opinion adds nothing to the report
# (Analysis.calls_harmless). Not "geen dreiging": an insult stays one beside it.
HARMLESS_CUES = ("niks aan de hand", "niets aan de hand", "helemaal niks aan de hand", "geen probleem",
                 "vriendelijk bedoeld", "goed bedoeld", "aardig bedoeld", "lief bedoeld", "er was niks mis",
                 "er was niets mis", "geen opzet", "niks kwaads", "niets kwaads", "geen kwade bedoeling",
                 "geen kwade bedoelingen", "prima gesprek", "prima contact", "gewoon een leuk", "geen geheim",
                 "niet bedreigd gevoeld", "voel me niet bedreigd", "voelde me niet bedreigd", "voel ik me niet bedreigd",
                 "niet onveilig", "hoort erbij", "hoort bij het werk", "technisch mankement")
# The reporter explains in his own words what was meant ("hij bedoelde zijn oude keuken", "maar bedoelde dat hij
# ze lelijk vindt", "Bedoelde zijn auto en de kuilen"): the words before were another thing than they seemed, so,
# as for HARMLESS_CUES, matches in that sentence, the two before it and the one after it do not count and the second
# opinion adds nothing. Not a question or a doubt ("vroeg wat hij bedoelde", "weet niet wie hij bedoelt": EXPLAINED_DENIED
# in the three words before), not inside a quote, and not when it names whom he meant on the official's side ("hij
# bedoelde de wethouder": OFFICIAL_SIDE after it), nor "bedoelde mij" or "bedoelde het …" (how, not what: "om te
# schelden"). Since vr19-2026.14: across the seventeen development hands every report with such an explanation
# is labelled without a threat.
EXPLAINED_VERBS = ("bedoelde", "bedoelt", "bedoelden")
EXPLAINED_WHAT = ("zijn", "haar", "hun", "de", "een", "dat", "gewoon")
EXPLAINED_CUES = tuple(f"{verb} {what}" for verb in EXPLAINED_VERBS for what in EXPLAINED_WHAT)
EXPLAINED_DENIED = frozenset({"wat", "wie", "welke", "of", "niet", "nooit", "geen"})
# Since vr19-2026.15 the explanation takes out a threat reading only (triage_rules.EXPLAINED_READINGS): what was said
# of a kitchen or a plan is no threat, but an insult or a slur stays one. And it is no explanation when it names
# people or a group ("hij bedoelde de deelnemers", "bedoelde de ambtenaren"): then the words were aimed at people.
EXPLAINED_PEOPLE = frozenset({"deelnemers", "deelnemer", "mensen", "bezoekers", "aanwezigen", "bewoners", "inwoners",
                              "burgers", "vrouwen", "mannen", "kinderen", "buitenlanders", "allochtonen", "moslims",
                              "joden", "vluchtelingen", "asielzoekers", "statushouders", "klanten", "cliënten",
                              "agenten", "hulpverleners", "politici", "homo's", "homos", "zwarten", "nieuwkomers",
                              "marokkanen", "turken", "polen", "surinamers", "antillianen", "arabieren", "gasten"})
EXPLAINED = "volgens de melder anders bedoeld"   # the scope of a match the reporter's explanation takes out
# "Apart from that it was fine": says nothing about what the reporter told ("hij schold me uit, verder
# netjes"), so no match is taken out; but the second opinion adds nothing beside it either.
CALM_CUES = ("verder netjes", "verder vriendelijk", "verder rustig", "verder zakelijk", "heel vriendelijk")
# Words before a cue that turn it round: "dit was geen grap", "niet als grap".
JOKE_DENIED = frozenset({"geen", "niet", "nooit", "niemand"})

# The reporter says the category ticked was a guess ("ik heb verbale agressie aangeklikt want wist niet
# wat anders"): the ticks say nothing, the description decides (shared/triage_rules.py).
TICK_DOUBT_CUES = ("wist niet wat anders", "niet wist wat anders", "wist niet welke", "niet wist welke",
                   "weet niet welke", "geen idee welke", "wist niet wat ik moest", "niet wist wat ik moest",
                   "geen andere keuze", "omdat het moest", "de app vraagt", "app vraagt dat")

# Harm to someone else (a client threatened by her ex, a resident by his landlord): in a clause that
# names the other person's antagonist (an ex, a landlord, the neighbours; a partner or relative as the
# one who did it: "door haar man") and no one on the official's side, a match does not count. Not
# "zijn vrouw" alone: "als zijn vrouw geen traplift krijgt, neem ik het recht in eigen hand".
# The official's side: the reporter, the addressed person, a colleague or an office holder.
OTHERS_CUES = ("haar ex", "zijn ex", "een ex", "haar huisbaas", "zijn huisbaas", "de huisbaas", "haar buurman",
               "zijn buurman", "haar buren", "zijn buren", "de buurman", "de buurvrouw", "de buren", "huiselijk geweld",
               "door haar man", "door haar partner", "door zijn partner", "door zijn vrouw", "door haar vriend",
               "door zijn vriendin", "door haar vader", "door zijn vader", "door haar broer", "door zijn broer",
               "haar man haar", "haar vriend haar", "haar partner haar", "zijn vrouw hem", "zijn partner hem")
# The reporter says nothing was aimed at him ("naar mij toe was hij vriendelijk"): what he told before
# (this sentence and the two before it) happened to someone else.
ASIDE_CUES = ("naar mij toe was", "naar ons toe was", "tegen mij was hij", "tegen mij was ze", "tegen mij was zij",
              "niet naar mij gericht", "niet tegen mij gericht", "tegen mij persoonlijk heeft hij",
              "niks met mijn werk te maken", "niets met mijn werk te maken",
              # since vr19-2026.14: also with the work named on ("niets met mijn werk bij de gemeente te maken")
              "niks met mijn werk bij", "niets met mijn werk bij",
              # since vr19-2026.11: said of the municipality or the world, not to the person ("zakkenvullers, maar niet
              # tegen mij persoonlijk", "hij bedoelde de gemeente, niet mij"): rude but lawful, the labelling guide's overig
              "niet tegen mij", "niet tegen haar persoonlijk", "niet tegen hem persoonlijk", "niet persoonlijk bedoeld",
              "niet op mij gericht", "niet tegen de medewerker", "niet over de medewerker", "bedoelde de gemeente",
              "niet jij hoor")
# Said to someone else: the words quoted after these were addressed to a third person, so their "je" is
# not the official ("de buurman riep tegen de bewoner: 'ik steek je huis in de fik'").
ADDRESSED_TO_OTHER = ("tegen de bewoner", "tegen de bewoonster", "tegen een bewoner", "tegen een bewoonster",
                      "tegen de huurder", "tegen de verhuurder", "tegen de eigenaar", "tegen zijn vrouw",
                      "tegen haar man", "tegen zijn vriendin", "tegen haar vriend", "tegen zijn buurman",
                      "tegen haar buurman", "tegen zijn buren", "tegen haar buren", "tegen de buurman",
                      "tegen de buurvrouw", "tegen de buren", "tegen zijn moeder", "tegen zijn vader",
                      "tegen haar moeder", "tegen haar vader", "tegen zijn zoon", "tegen zijn dochter",
                      "tegen haar zoon", "tegen haar dochter", "tegen zijn ex", "tegen haar ex",
                      "tegen de conciërge", "tegen de concierge", "tegen de huismeester", "tegen de beheerder")
_QUOTE = re.compile(r"""(?:(?<=^)|(?<=[\s(:,]))['"“‘„«](.+?)['"”’»](?=[\s.,!?;:)]|$)""", re.S)
OFFICIAL_SIDE = frozenset({"ik", "mij", "me", "mijn", "wij", "we", "ons", "onze", "je", "jij", "jou", "jouw", "u",
                           "uw", "jullie", "collega", "collega's", "medewerker", "medewerkers", "boa", "boa's",
                           "handhaver", "handhavers", "ambtenaar", "ambtenaren", "wethouder", "burgemeester",
                           "raadslid", "raadsleden", "gemeente", "balie", "loket"})


@dataclass(frozen=True)
class Token:
    surface: str     # normalised word as written
    lemma: str
    sentence: int
    clause: int
    start: int       # character offsets in the original text (for showing the words found)
    end: int


class Analysis:
    """One report, analysed once; patterns are matched against it (`Pattern.hits`)."""

    def __init__(self, text: str | None):
        self.text = text or ""
        self.tokens: list[Token] = _tokenise(self.text)
        index: dict[str, list[int]] = {}
        for i, tok in enumerate(self.tokens):
            index.setdefault(tok.surface, []).append(i)
            if tok.lemma != tok.surface:
                index.setdefault(tok.lemma, []).append(i)
        self.index = index
        self._affixed: dict = {}
        self.memo: dict = {}   # per compiled piece (by id): its starts and hits in this report, computed once
        self._negators = self._find_negators()
        self._retracted = self._find_retracted()
        self._earlier_clauses = self._find_earlier_clauses()
        self._joking_sentences = self._find_joking_sentences()
        self._harmless_sentences = self._find_harmless_sentences(HARMLESS_CUES)
        self._explained_sentences = self._find_explained_sentences()
        # the reporter says nothing was wrong, or that the rest was fine: the second opinion adds nothing
        self.calls_harmless = bool(self._harmless_sentences or self._explained_sentences
                                   or self._find_harmless_sentences(CALM_CUES))
        self._others_clauses = self._find_others_clauses()
        # "naar mij toe was er niets": what he told happened to someone else, so the second opinion adds
        # nothing either (measured on the training split, vr19-2026.6)
        self.calls_harmless = self.calls_harmless or bool(self._cue_positions(ASIDE_CUES))
        # a tick beside a description the reporter calls harmless ("niks aan de hand, ter info") says as
        # little as a tick he calls a guess
        self.doubts_ticks = bool(self._cue_positions(TICK_DOUBT_CUES) or self._harmless_sentences
                                 or self._explained_sentences)

    def affixed(self, prefix: str, suffix: str) -> frozenset:
        """Positions of words (as written or as lemma) with this prefix and suffix, computed once."""
        key = (prefix, suffix)
        if key not in self._affixed:
            keys = [k for k in self.index if k.startswith(prefix) and k.endswith(suffix)
                    and len(k) > len(prefix) + len(suffix)]
            self._affixed[key] = frozenset(self.positions(keys))
        return self._affixed[key]

    def positions(self, keys) -> list[int]:
        index = self.index
        if len(keys) > len(index) and isinstance(keys, (set, frozenset)):   # a lexicon group's hundreds of words
            found = [p for key, at in index.items() if key in keys for p in at]
        else:
            found = [p for key in keys if key in index for p in index[key]]
        return sorted(set(found)) if len(found) > 1 else found

    def words(self, positions) -> str:
        """The words at these positions as written, with '…' over a gap: 'mes … onderweg'."""
        out, last, shown = [], None, set()
        for i in sorted(positions):
            if last is not None and i > last + 1:
                out.append("…")
            tok = self.tokens[i]
            if (tok.start, tok.end) not in shown:  # 'vd' stands for two words
                out.append(self.text[tok.start:tok.end])
                shown.add((tok.start, tok.end))
            last = i
        return " ".join(out)

    # -------------------------------------------------------------- scope
    def _find_negators(self) -> list[tuple[int, int, int]]:
        """(position, words before a match, words after it) of each cue that negates."""
        toks, out = self.tokens, []
        for i, tok in enumerate(toks):
            reach = NEGATION_CUES.get(tok.surface)
            if reach is None:
                continue
            following = " ".join(t.surface for t in toks[i + 1:i + 3] if t.sentence == tok.sentence)
            if any(following == w or following.startswith(w + " ") for w in NOT_NEGATING_AFTER.get(tok.surface, ())):
                continue
            before = [t.surface for t in toks[max(0, i - 3):i] if t.clause == tok.clause]
            if CONDITION_WORDS & set(before):
                reach = (1, 0)
            out.append((i, reach[0], reach[1]))
        return out

    def _find_retracted(self) -> set[int]:
        toks, out = self.tokens, set()
        for i, tok in enumerate(toks):
            if tok.lemma not in RETRACTION_CUES and tok.surface not in RETRACTION_CUES:
                continue
            # the `maar` that retracts: later in this sentence, or first word of the next one
            end = None
            for j in range(i + 1, len(toks)):
                if toks[j].surface == RETRACTION_END and (
                        toks[j].sentence == tok.sentence
                        or (toks[j].sentence == tok.sentence + 1 and toks[j - 1].sentence == tok.sentence)):
                    end = j
                    break
                if toks[j].sentence > tok.sentence + 1:
                    break
            if end is not None:
                out.update(range(i + 1, end))
        return out

    def _cue_positions(self, cues) -> list[int]:
        """The position of the first word of every occurrence of these cues (written forms)."""
        if not self.tokens:
            return []
        if "_line" not in self.memo:
            starts, offset = [], 0
            for tok in self.tokens:
                starts.append(offset)
                offset += len(tok.surface) + 1
            self.memo["_line"] = (starts, " ".join(tok.surface for tok in self.tokens) + " ")
        starts, line = self.memo["_line"]
        surfaces = self.memo.get("_surfaces")
        if surfaces is None:
            surfaces = self.memo["_surfaces"] = frozenset(tok.surface for tok in self.tokens)
        # a cue starts at a word and its first word is a whole word of the report: a set test first
        return [_position_at(starts, m.start()) for cue in cues if cue.partition(" ")[0] in surfaces
                for m in _cue_pattern(cue).finditer(line)]

    def _find_earlier_clauses(self) -> set[int]:
        toks = self.tokens
        out = set()
        for k in self._cue_positions(EARLIER_CUES):
            out.add(toks[k].clause)
            sentence = toks[k].sentence
            first_clause = next(t.clause for t in toks if t.sentence == sentence)
            if toks[k].clause != first_clause:
                continue
            # a framing cue: its sentence up to a clause with a word of now ("vorig jaar al, nu weer"), and the
            # sentences after it that tell on without a word of now or of the reporter
            for clause in sorted({t.clause for t in toks if t.sentence == sentence and t.clause > toks[k].clause}):
                if EARLIER_NOW_TIME & {t.surface for t in toks if t.clause == clause}:
                    break
                out.add(clause)
            else:
                while True:
                    sentence += 1
                    words = [t for t in toks if t.sentence == sentence]
                    if not words or EARLIER_NOW & {t.surface for t in words}:
                        break
                    out.update(t.clause for t in words)
        return out

    def _find_joking_sentences(self) -> set[int]:
        toks, out = self.tokens, set()
        for k in self._cue_positions(JOKE_CUES):
            if any(t.surface in JOKE_DENIED and t.clause == toks[k].clause for t in toks[max(0, k - 2):k]):
                continue   # "dit was geen grap"
            out.update(range(toks[k].sentence - JOKE_BEFORE, toks[k].sentence + JOKE_AFTER + 1))
        return out

    def _find_harmless_sentences(self, cues) -> set[int]:
        toks, out = self.tokens, set()
        positions = self._cue_positions(cues)
        quoted = self._quoted() if positions else set()
        for k in positions:
            if k in quoted or any(t.surface in JOKE_DENIED and t.clause == toks[k].clause for t in toks[max(0, k - 2):k]):
                continue   # the perpetrator's words, or "dat was niet vriendelijk bedoeld"
            out.update(range(toks[k].sentence - JOKE_BEFORE, toks[k].sentence + JOKE_AFTER + 1))
        return out

    def _find_explained_sentences(self) -> set[int]:
        """The sentences around the reporter's own explanation of what was meant (EXPLAINED_CUES)."""
        toks, out = self.tokens, set()
        positions = self._cue_positions(EXPLAINED_CUES)
        quoted = self._quoted() if positions else set()
        for k in positions:
            meant = toks[k + 2].surface if k + 2 < len(toks) else ""
            if k in quoted or meant in OFFICIAL_SIDE or meant in EXPLAINED_PEOPLE or any(
                    t.surface in EXPLAINED_DENIED and t.sentence == toks[k].sentence for t in toks[max(0, k - 3):k]):
                continue   # the perpetrator's words, a question, or whom he meant on the official's side
            out.update(range(toks[k].sentence - JOKE_BEFORE, toks[k].sentence + JOKE_AFTER + 1))
        return out

    def _find_others_clauses(self) -> set[int]:
        toks = self.tokens
        cue_positions = self._cue_positions(OTHERS_CUES)
        cued = {toks[k].clause for k in cue_positions}
        official = {t.clause for t in toks if t.surface in OFFICIAL_SIDE and t.clause in cued}
        aside = {s for k in self._cue_positions(ASIDE_CUES) for s in range(toks[k].sentence - 2, toks[k].sentence + 1)}
        out = (cued - official) | {t.clause for t in toks if t.sentence in aside}
        # Quoted words in a sentence about someone else's antagonist, or said to someone else: their "je" and
        # "ik" are the people quoted, not the official. The whole sentence is someone else's when its own
        # words (outside the quotes) name no one on the official's side; so is the next sentence that only
        # quotes on ("Hij zei: '…'").
        quoted = self._quoted()
        told = {toks[k].sentence for k in cue_positions + self._cue_positions(ADDRESSED_TO_OTHER) if k not in quoted}
        for sentence in sorted(told):
            for s in (sentence, sentence + 1):
                words = [i for i, t in enumerate(toks) if t.sentence == s]
                own = [toks[i].surface for i in words if i not in quoted]
                if not words or OFFICIAL_SIDE & set(own) or (s != sentence and len(own) == len(words)):
                    break
                out.update(toks[i].clause for i in words)
        return out

    @functools.cached_property
    def quoted(self) -> frozenset:
        """Positions of the words inside quotation marks, computed once."""
        return frozenset(self._quoted())

    def _quoted(self) -> set[int]:
        """Positions of the words inside quotation marks (what someone is quoted as saying)."""
        spans = [(m.start(1), m.end(1)) for m in _QUOTE.finditer(self.text)]
        return {i for i, t in enumerate(self.tokens) if any(a <= t.start < b for a, b in spans)}

    def scope_of(self, positions) -> str:
        """'' for a match that counts, else why not: 'ontkend', 'teruggenomen', 'eerder of elders', 'gericht
        op een ander' or 'als grap of bij wijze van spreken'."""
        toks = self.tokens
        first, last = min(positions), max(positions)
        clauses = {toks[i].clause for i in positions}
        if last + 1 < len(toks) and toks[last + 1].surface == "nee" and toks[last + 1].sentence == toks[last].sentence:
            return "ontkend"   # a form's field answered no: "Letsel: nee", "Wapen nee" (since vr19-2026.14)
        for pos, before, after in self._negators:
            if pos in positions:
                continue   # the pattern itself holds the word: "dat vergeet ik niet"
            if first - before <= pos < first and toks[pos].clause == toks[first].clause:
                return "ontkend"   # "niet bedreigd", "geen mes"
            if last < pos <= last + after and toks[pos].clause == toks[last].clause and _verb_form(toks[last]):
                return "ontkend"   # "dreigde niet", "sloeg me niet" (not "vrouwen niet")
            if first < pos < last and toks[pos].clause in clauses:
                return "ontkend"   # "ik steek je niet neer"
        if any(i in self._retracted for i in positions):
            return "teruggenomen"
        if clauses & self._earlier_clauses:
            return "eerder of elders"
        if clauses <= self._others_clauses:
            return "gericht op een ander"
        if {toks[i].sentence for i in positions} <= self._joking_sentences:
            return "als grap of bij wijze van spreken"
        if {toks[i].sentence for i in positions} <= self._harmless_sentences:
            return "volgens de melder onschuldig"
        if {toks[i].sentence for i in positions} <= self._explained_sentences:
            return EXPLAINED
        return ""


@functools.lru_cache(maxsize=None)
def _cue_pattern(cue: str) -> re.Pattern:
    """A cue as a pattern over the report's words joined by single spaces, compiled once."""
    return re.compile(rf"(?<!\S){re.escape(cue)} ")


def _verb_form(tok: Token) -> bool:
    """An inflected verb ('dreigde' of 'dreigen', 'sloeg' of 'slaan'): a negation after it negates it."""
    return tok.lemma.endswith("n") and tok.lemma != tok.surface


def _position_at(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _tokenise(text: str) -> list[Token]:
    tokens: list[Token] = []
    sentence = clause = 0
    marks = []
    for m in _SENTENCE_END.finditer(text):
        marks.append((m.start(), "s"))
    for m in _CLAUSE_MARK.finditer(text):
        marks.append((m.start(), "c"))
    marks.sort()
    mark_i = 0
    for m in _WORD.finditer(text):
        while mark_i < len(marks) and marks[mark_i][0] < m.start():
            if tokens:
                if marks[mark_i][1] == "s" and tokens[-1].sentence == sentence:
                    sentence += 1
                    clause += 1
                elif marks[mark_i][1] == "c" and tokens[-1].clause == clause:
                    clause += 1
            mark_i += 1
        raw = normalise_word(m.group())
        words = SPELLING.get(raw, raw).split()
        for w in words:
            if w in CLAUSE_WORDS and tokens and tokens[-1].clause == clause:
                clause += 1
            tokens.append(Token(w, lemma(w), sentence, clause, m.start(), m.end()))
    return tokens


def analyse(text: str | None) -> Analysis:
    return Analysis(text)


# ------------------------------------------------------------------ patterns

class PatternError(ValueError):
    """A pattern a rules file cannot use; the message says what is wrong in plain words."""


@dataclass(frozen=True)
class Hit:
    positions: tuple[int, ...]   # the words that matched (not the gaps)
    words: str                   # as written in the report: 'neer … steken'
    scope: str = ""              # '' counts; else why not (Analysis.scope_of)

    @property
    def counts(self) -> bool:
        return not self.scope


@dataclass(frozen=True)
class _Word:
    keys: frozenset = frozenset()        # surfaces and lemmas that match
    prefix: str = ""                     # 'dreig*'
    suffix: str = ""                     # '*hoer'
    particle: str = ""                   # separable verb: 'neer' of 'neersteken' ...
    stem_keys: frozenset = frozenset()   # ... and the forms of 'steken'
    exact: bool = False                  # '=geraakt': this form only, not every form of its lemma

    def match_at(self, a: Analysis, i: int) -> list[tuple[int, ...]]:
        tok = a.tokens[i]
        if self.prefix or self.suffix:
            return [(i,)] if i in a.affixed(self.prefix, self.suffix) else []
        if self.exact:
            return [(i,)] if tok.surface in self.keys else []
        if tok.surface in self.keys or tok.lemma in self.keys:
            return [(i,)]
        if self.particle and (tok.surface in self.stem_keys or tok.lemma in self.stem_keys):
            lo, hi = max(0, i - PARTICLE_BEFORE), min(len(a.tokens) - 1, i + PARTICLE_AFTER)
            for j in range(lo, hi + 1):
                if j != i and a.tokens[j].surface == self.particle and a.tokens[j].sentence == tok.sentence:
                    if j > i and self.particle in PREPOSITION_PARTICLES and j + 1 < len(a.tokens) \
                            and a.tokens[j + 1].surface in PHRASE_STARTS and a.tokens[j + 1].sentence == tok.sentence:
                        continue   # "sloeg me in het gezicht": a preposition, not the particle
                    return [tuple(sorted((i, j)))]
        return []

    def starts(self, a: Analysis) -> list[int]:
        if self.prefix or self.suffix:
            return sorted(a.affixed(self.prefix, self.suffix))
        return a.positions(self.start_keys)

    @functools.cached_property
    def start_keys(self) -> frozenset:
        return self.keys | self.stem_keys if self.stem_keys else self.keys


@dataclass(frozen=True)
class _Seq:
    """Words in order within one sentence, each within `gaps[k]` words of the one before."""
    items: tuple            # _Word or _Alt
    gaps: tuple             # gap allowed before item k (k >= 1)


@dataclass(frozen=True)
class _Alt:
    options: tuple          # of _Seq

    @functools.cached_property
    def start_words(self) -> frozenset | None:
        """The words (as written or lemmas) an option can start at; None: any word (a start word with *)."""
        words = _start_words(self)
        return None if words is None else frozenset(words)

    @functools.cached_property
    def _by_word(self) -> tuple[dict, tuple]:
        """Word -> the indexes of the options that can start at it; and those that can start at any word. A lexicon
        group has up to a hundred options and a report word starts one or two of them (issue 25)."""
        by_word, anywhere = {}, []
        for k, seq in enumerate(self.options):
            words = _start_words(seq.items[0])
            if words is None:
                anywhere.append(k)
                continue
            for word in words:
                by_word.setdefault(word, []).append(k)
        return {w: tuple(ks) for w, ks in by_word.items()}, tuple(anywhere)

    def options_at(self, tok: Token) -> tuple:
        """The options that can start at this word, in their order (the others cannot match there)."""
        by_word, anywhere = self._by_word
        found = by_word.get(tok.surface, ())
        if tok.lemma != tok.surface:
            more = by_word.get(tok.lemma)
            if more:
                found = tuple(sorted(set(found) | set(more))) if found else more
        if anywhere:
            found = tuple(sorted(set(found) | set(anywhere)))
        options = self.options
        return tuple(options[k] for k in found)


@functools.lru_cache(maxsize=20_000)
def _word(text: str) -> _Word:
    w = normalise_word(text)
    if w.startswith("=") and re.fullmatch(r"=[^\W_]+(?:'[^\W_]+)?", w):
        return _Word(frozenset({SPELLING.get(w[1:], w[1:])}), exact=True)
    if not re.fullmatch(r"\*?[^\W_]+(?:'[^\W_]+)?\*?", w):
        raise PatternError(f"'{text}' is not a word (letters and digits, optionally * at the start or end, "
                           "or = before it)")
    if w.startswith("*") or w.endswith("*"):
        core = w.strip("*")
        if len(core) < 3:
            raise PatternError(f"'{text}': a word with * needs at least 3 letters")
        return _Word(prefix=core if w.endswith("*") else "", suffix=core if w.startswith("*") else "")
    w = SPELLING.get(w, w)
    keys = {w, lemma(w)}
    base = lemma(w)
    for p in PARTICLES:
        if base.startswith(p) and len(base) - len(p) >= 4:
            stem = base[len(p):]
            if lemma(stem) == stem or stem.endswith("en"):
                return _Word(frozenset(keys), particle=p, stem_keys=frozenset({stem, lemma(stem)}))
    return _Word(frozenset(keys))


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern: one or more options, each a word sequence (with alternatives) or
    several of them near each other (`A & B`)."""
    source: str
    options: tuple          # of tuples of _Alt; a tuple of several parts is `A & B`

    def hits(self, a: Analysis) -> list[Hit]:
        """Every match in the report, counting or not (each with its scope); computed once per report."""
        key = ("hits", id(self))
        if key not in a.memo:
            anchors = self.anchors
            # most of a rules file's patterns cannot start anywhere in a given report: a set test instead of
            # walking their sequences (the acute check and triage's reading were 6-8 ms of CPU per report)
            a.memo[key] = [] if anchors is not None and anchors.isdisjoint(a.index) else self._hits(a)
        return a.memo[key]

    @functools.cached_property
    def anchors(self) -> frozenset | None:
        """The words (as written or lemmas) one of which a report must hold for this pattern to match: those
        its options can start with (an `A & B` needs A). None when a start word has * (any word may do)."""
        found = set()
        for parts in self.options:
            words = _start_words(parts[0])
            if words is None:
                return None
            found |= words
        return frozenset(found)

    @functools.cached_property
    def option_anchors(self) -> tuple:
        """Per option, the words it can start with (None: any word), as `anchors` for the whole pattern."""
        return tuple(None if words is None else frozenset(words)
                     for words in (_start_words(parts[0]) for parts in self.options))

    def _hits(self, a: Analysis) -> list[Hit]:
        found, seen = [], set()
        index = a.index
        for parts, anchors in zip(self.options, self.option_anchors):
            if anchors is not None and anchors.isdisjoint(index):
                continue  # a group's member that cannot start in this report (most of them)
            spans = _alt_spans(parts[0], a) if len(parts) == 1 else _near_spans(parts, a)
            for positions in spans:
                if positions not in seen:
                    seen.add(positions)
                    found.append(Hit(positions, a.words(positions), a.scope_of(positions)))
        return found

    def first(self, a: Analysis) -> Hit | None:
        """The first match that counts, or None."""
        return next((h for h in self.hits(a) if h.counts), None)


def _start_words(item) -> set | None:
    """The keys a match of this item (a _Word or an _Alt of sequences) can start at; None: any word."""
    if isinstance(item, _Word):
        return None if item.prefix or item.suffix else set(item.keys | item.stem_keys)
    found = set()
    for seq in item.options:
        words = _start_words(seq.items[0])
        if words is None:
            return None
        found |= words
    return found


def _seq_spans(seq: _Seq, a: Analysis) -> list[tuple[int, ...]]:
    key = ("spans", id(seq))
    if key in a.memo:
        return a.memo[key]
    first = seq.items[0]
    out = []
    for start in _item_starts(first, a):
        for span in _item_match_at(first, a, start):
            out.extend(_extend(seq, 1, a, span))
    a.memo[key] = out
    return out


def _extend(seq: _Seq, k: int, a: Analysis, span: tuple[int, ...]) -> list[tuple[int, ...]]:
    if k == len(seq.items):
        return [span]
    item, gap = seq.items[k], seq.gaps[k]
    last = max(span)
    sentence = a.tokens[last].sentence
    out = []
    for i in range(last + 1, min(len(a.tokens), last + 2 + gap)):
        if a.tokens[i].sentence != sentence:
            break
        for more in _item_match_at(item, a, i):
            if min(more) > last:
                out.extend(_extend(seq, k + 1, a, tuple(sorted(set(span) | set(more)))))
        if out:
            break
    return out


def _item_starts(item, a: Analysis) -> list[int]:
    key = ("starts", id(item))
    found = a.memo.get(key)
    if found is None:
        if isinstance(item, _Word):
            found = item.starts(a)
        elif item.start_words is not None:
            found = a.positions(item.start_words)   # every option's start words at once
        else:
            starts = set()
            for seq in item.options:
                starts.update(_item_starts(seq.items[0], a))
            found = sorted(starts)
        a.memo[key] = found
    return found


def _item_match_at(item, a: Analysis, i: int) -> list[tuple[int, ...]]:
    if isinstance(item, _Word):
        return item.match_at(a, i)
    out = []
    for seq in item.options_at(a.tokens[i]):
        for span in _item_match_at(seq.items[0], a, i):
            out.extend(_extend(seq, 1, a, span))
    return out


def _alt_spans(alt: _Alt, a: Analysis) -> list[tuple[int, ...]]:
    out = []
    for seq in alt.options:
        out.extend(_seq_spans(seq, a))
    return sorted(out)


def _near_spans(parts, a: Analysis) -> list[tuple[int, ...]]:
    """Every part in one sentence, all within NEAR words, in any order."""
    combos = [[s] for s in _alt_spans(parts[0], a)]
    for part in parts[1:]:
        spans = _alt_spans(part, a)
        nxt = []
        for combo in combos:
            lo, hi = min(min(s) for s in combo), max(max(s) for s in combo)
            sentence = a.tokens[lo].sentence
            for s in spans:
                if a.tokens[min(s)].sentence == sentence and max(hi, max(s)) - min(lo, min(s)) <= NEAR \
                        and not set(s) & {p for c in combo for p in c}:
                    nxt.append(combo + [s])
        combos = nxt
    return sorted({tuple(sorted({p for s in combo for p in s})) for combo in combos})


_GROUP = re.compile(r"^<([a-z][a-z0-9_]*)>$")


def compile_pattern(source: str, groups: dict | None = None, _seen: tuple = ()) -> Pattern:
    """Compile a pattern string (syntax in docs/triage.md); `groups` are the rules file's lexicon
    (name -> list of patterns), used as <name>. Raises PatternError with a plain reason."""
    groups = groups or {}
    if not isinstance(source, str) or not source.strip():
        raise PatternError("empty pattern")
    whole = _GROUP.match(source.strip())
    if whole and whole.group(1) in groups:  # a group on its own: any of its members, '&' ones too
        name = whole.group(1)
        if name in _seen:
            raise PatternError(f"<{name}> refers to itself")
        options = []
        for member in groups[name]:
            options.extend(compile_pattern(member, groups, _seen + (name,)).options)
        return Pattern(source, tuple(options))
    parts = [p.strip() for p in source.split("&")]
    if any(not p for p in parts):
        raise PatternError(f"'{source}': '&' needs a pattern on both sides")
    return Pattern(source, (tuple(_compile_alt(p, groups, _seen) for p in parts),))


def _compile_alt(source: str, groups: dict, seen: tuple) -> _Alt:
    return _Alt((_compile_seq(source, groups, seen),))


def _compile_seq(source: str, groups: dict, seen: tuple) -> _Seq:
    items, gaps, gap = [], [], SMALL_GAP
    # a hyphen splits a word in the text ('privé-adres' reads as two words), so in a pattern too
    for piece in re.sub(r"(?<=\w)-(?=\w)", " ", source).split():
        if piece in ("...", "…"):
            if not items:
                raise PatternError(f"'{source}': '...' must stand between words")
            gap = LONG_GAP
            continue
        items.append(_compile_item(piece, groups, seen))
        gaps.append(gap)
        gap = SMALL_GAP
    if not items:
        raise PatternError(f"'{source}': no words")
    if gap == LONG_GAP:
        raise PatternError(f"'{source}': '...' must stand between words")
    return _Seq(tuple(items), tuple(gaps))


def _compile_item(piece: str, groups: dict, seen: tuple):
    group = _GROUP.match(piece)
    if group:
        name = group.group(1)
        if name in seen:
            raise PatternError(f"<{name}> refers to itself")
        if name not in groups:
            raise PatternError(f"<{name}> is not in the lexicon")
        options = []
        for member in groups[name]:
            if "&" in member:
                raise PatternError(f"<{name}>: '{member}': a group with '&' in it can only stand alone as a pattern")
            options.append(_compile_seq(member, groups, seen + (name,)))
        return _Alt(tuple(options))
    if "|" in piece:
        return _Alt(tuple(_Seq((_compile_item(w, groups, seen),), (SMALL_GAP,)) for w in piece.split("|") if w))
    return _word(piece)
