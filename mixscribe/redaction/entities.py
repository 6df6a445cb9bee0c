"""The entity types a job can redact, declared once: the tag the outputs show, the Presidio entity and
the Cloud DLP infoType behind each, and whether ``redact=pii`` includes it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EntityType:
    name: str  # the tag in the outputs: ``[PHONE_NUMBER]``; lower-cased in the ``redact`` option
    presidio: str
    dlp: str
    description: str
    default: bool = True


ENTITIES: tuple[EntityType, ...] = (
    EntityType("PERSON", "PERSON", "PERSON_NAME", "people's names (spaCy's English NER)"),
    EntityType("PHONE_NUMBER", "PHONE_NUMBER", "PHONE_NUMBER", "phone numbers (Google's libphonenumber)"),
    EntityType("EMAIL_ADDRESS", "EMAIL_ADDRESS", "EMAIL_ADDRESS", "e-mail addresses, spoken ones too"),
    EntityType("CREDIT_CARD", "CREDIT_CARD", "CREDIT_CARD_NUMBER", "card numbers that pass the Luhn check"),
    EntityType("IBAN", "IBAN_CODE", "IBAN_CODE", "IBANs with a valid check sum"),
    EntityType("US_SSN", "US_SSN", "US_SOCIAL_SECURITY_NUMBER", "US social security numbers"),
    EntityType("IP_ADDRESS", "IP_ADDRESS", "IP_ADDRESS", "IPv4 and IPv6 addresses"),
    EntityType("STREET_ADDRESS", "STREET_ADDRESS", "STREET_ADDRESS", "house number, street name and street type"),
    EntityType("DATE_OF_BIRTH", "DATE_OF_BIRTH", "DATE_OF_BIRTH", "a date said as someone's birth date"),
)
BY_NAME = {e.name: e for e in ENTITIES}
BY_PRESIDIO = {e.presidio: e for e in ENTITIES}
BY_DLP = {e.dlp: e for e in ENTITIES}
DEFAULT = tuple(e.name for e in ENTITIES if e.default)


class UnknownEntity(ValueError):
    pass


def parse_redact(value: str) -> tuple[str, ...]:
    """``pii`` (the default set) or a comma-separated list of entity names → the entity names; ``""``
    and ``none`` → nothing (redaction off)."""
    names = [part.strip().upper() for part in value.split(",") if part.strip()]
    if not names or names == ["NONE"]:
        return ()
    chosen: list[str] = []
    for name in names:
        expanded = DEFAULT if name == "PII" else (name,)
        for entity in expanded:
            if entity not in BY_NAME:
                known = ", ".join(["pii", *(e.name.lower() for e in ENTITIES)])
                raise UnknownEntity(f"unknown entity type {name.lower()!r} (known: {known})")
            if entity not in chosen:
                chosen.append(entity)
    return tuple(chosen)
