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
