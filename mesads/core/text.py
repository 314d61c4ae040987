import re
import unicodedata


def search_key(text: str) -> str:
    """Text as searches compare it: no accents, no case, words separated by one space.

    "Saint-Étienne", "saint etienne" and "SAINT ÉTIENNE" all give "saint etienne", so a
    mairie employee typing "Nimes" finds "Nîmes".
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare.lower()).split())


# Letters before which « de » becomes « d’ ». A mute h (« d’Hyères ») cannot be told from
# an aspirate one (« de Hem ») by its spelling, and « Le », « Les » contract instead
# (« du Mans »): both are left as they are.
_ELIDING_LETTERS = frozenset("aeiouyæœ")


def de(name: object) -> str:
    """« de » and a name, elided before a vowel as French writes it: « d’Alès »,
    « d’Évry », « d’Yerres », but « de Nîmes »."""
    name = str(name).strip()
    first = unicodedata.normalize("NFD", name[:1])[:1].lower()
    return f"d’{name}" if first in _ELIDING_LETTERS else f"de {name}"
