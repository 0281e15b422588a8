"""Is this message English? Lingua (lingua-language-detector) over the languages a European
shop's customers most often write in, and the English dictionary as a second opinion."""

from __future__ import annotations

from lingua import Language, LanguageDetectorBuilder

from engine.guard import mostly_non_latin

OTHER_FROM = 0.80  # Lingua's confidence in another language from which we believe it
CANDIDATES = (
    Language.ENGLISH, Language.DUTCH, Language.GERMAN, Language.FRENCH, Language.SPANISH,
    Language.ITALIAN, Language.PORTUGUESE, Language.POLISH, Language.SWEDISH, Language.DANISH,
    Language.TURKISH,
)  # fmt: skip


class LanguageCheck:
    def __init__(self) -> None:
        self._detector = LanguageDetectorBuilder.from_languages(*CANDIDATES).build()

    def other_language(self, text: str, english_share: float) -> str | None:
        """The message's language when it is confidently not English, else None.

        `english_share` is the share of its words in the English dictionary: a message with
        mostly English words (typos, product names) is never sent away.
        """
        if mostly_non_latin(text):
            return "non-latin"
        if len(text.split()) < 3 or english_share >= 0.5:
            return None
        best = self._detector.compute_language_confidence_values(text)[0]
        if best.language != Language.ENGLISH and best.value >= OTHER_FROM:
            return best.language.name.lower()
        return None
