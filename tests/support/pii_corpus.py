"""A labelled corpus of transcript sentences with known personal data, written here (seeded, so the same
every run): names, phone numbers, e-mail addresses, card numbers (valid Luhn), IBANs (valid check
digits), US SSNs, IP addresses, street addresses and dates of birth, each written the way Whisper
writes it or spoken digit by digit / spelled out, mixed with numbers that are no personal data
(times, amounts, counts, versions, dates that are no birth dates).

A sample is its words (as Whisper's word tokens: a leading space) and its labels ``(entity, first
word, last word)``; ``bench/redaction.py`` scores an engine on it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST = "James Mary Robert Patricia Michael Jennifer David Linda Daniel Sofia Priya Marcus Elena Tomas Aisha Kenji".split()
LAST = "Smith Johnson Williams Brown Garcia Miller Davis Martinez Wilson Anderson Patel Nguyen Kowalski Okafor Larsen".split()
STREETS = "Maple Oak Cedar Elm Washington Lincoln Park Lake Hill Sunset Baker Church".split()
STREET_TYPES = "Street Avenue Road Lane Drive Boulevard".split()
DOMAINS = "example.com mail.org company.net school.edu".split()
MONTHS = "January February March April May June July August September October November December".split()
SPOKEN = "zero one two three four five six seven eight nine".split()


@dataclass(frozen=True)
class Sample:
    words: tuple[str, ...]
    labels: tuple[tuple[str, int, int], ...]

    @property
    def text(self) -> str:
        return "".join(self.words).strip()


class _Builder:
    def __init__(self) -> None:
        self.words: list[str] = []
        self.labels: list[tuple[str, int, int]] = []

    def say(self, text: str) -> _Builder:
        self.words += [f" {w}" for w in text.split()]
        return self

    def pii(self, entity: str, text: str, tail: str = "") -> _Builder:
        first = len(self.words)
        self.say(text)
        self.labels.append((entity, first, len(self.words) - 1))
        if tail:
            self.words[-1] += tail
        return self

    def build(self) -> Sample:
        return Sample(tuple(self.words), tuple(self.labels))


def _digits_spoken(digits: str, groups: tuple[int, ...]) -> str:
    parts, k = [], 0
    for size in groups:
        parts.append(" ".join(SPOKEN[int(d)] for d in digits[k : k + size]))
        k += size
    return ", ".join(parts)


def _hundreds_spoken(number: int) -> str:
    """100–999 as said: "four hundred fifteen", "two hundred", "five hundred fifty five"."""
    teens = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    tens = "twenty thirty forty fifty sixty seventy eighty ninety".split()
    head, rest = divmod(number, 100)
    words = [SPOKEN[head], "hundred"]
    if 10 <= rest < 20:
        words.append(teens[rest - 10])
    elif rest >= 20:
        words += [tens[rest // 10 - 2]] + ([SPOKEN[rest % 10]] if rest % 10 else [])
    elif rest:
        words.append(SPOKEN[rest])
    return " ".join(words)


def _luhn_card(rng: random.Random) -> str:
    body = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for k, d in enumerate(reversed(body)):
        d = d * 2 if k % 2 == 0 else d
        total += d - 9 if d > 9 else d
    return "".join(map(str, body)) + str((10 - total % 10) % 10)


def _iban(rng: random.Random) -> str:
    bban = "".join(str(rng.randrange(10)) for _ in range(18))  # German: 8-digit bank code, 10-digit account
    numeric = int(bban + "131400")  # D=13, E=14, check digits 00
    check = 98 - numeric % 97
    iban = f"DE{check:02d}{bban}"
    return " ".join(iban[k : k + 4] for k in range(0, len(iban), 4))


def _phone(rng: random.Random) -> str:
    area = rng.choice(["212", "415", "617", "312", "206", "303", "512", "404"])
    return f"{area}{rng.randrange(200, 999)}{rng.randrange(1000, 9999)}"


def _ssn(rng: random.Random) -> str:
    area = rng.choice([rng.randrange(1, 665), rng.randrange(667, 899)])  # 666 and 900-999 are never issued
    return f"{area:03d}{rng.randrange(1, 99):02d}{rng.randrange(1, 9999):04d}"


def corpus(seed: int = 20, per_template: int = 10) -> list[Sample]:
    """Every template filled ``per_template`` times."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for _ in range(per_template):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        phone, card, ssn = _phone(rng), _luhn_card(rng), _ssn(rng)
        user, domain = rng.choice(FIRST).lower(), rng.choice(DOMAINS)
        last = rng.choice(LAST).lower()
        street = f"{rng.randrange(2, 9800)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
        born = f"{rng.choice(MONTHS)} {rng.randrange(1, 28)}, {rng.randrange(1940, 2005)}"
        ip = f"{rng.choice([10, 172, 192])}.{rng.randrange(0, 255)}.{rng.randrange(0, 255)}.{rng.randrange(1, 254)}"
        hour, amount, count = rng.randrange(1, 12), rng.randrange(2, 90) * 1000, rng.randrange(3, 60)
        out += [
            _Builder()
            .say("Hi everyone, this is")
            .pii("PERSON", name, ",")
            .say("thanks for joining at")
            .say(f"{hour} pm.")
            .build(),
            _Builder().say("You can call me at").pii("PHONE_NUMBER", f"{phone[:3]}-{phone[3:6]}-{phone[6:]}", ".").build(),
            _Builder()
            .say("My number is")
            .pii("PHONE_NUMBER", _digits_spoken(phone, (3, 3, 4)), ",")
            .say("call after")
            .say(f"{hour} o'clock.")
            .build(),
            _Builder()
            .say("Reach me on")
            .pii("PHONE_NUMBER", f"{_hundreds_spoken(int(phone[:3]))}, {_digits_spoken(phone[3:], (3, 4))}", ".")
            .build(),
            _Builder().say("Send the report to").pii("EMAIL_ADDRESS", f"{user}.{last}@{domain}", ".").build(),
            _Builder()
            .say("My email is")
            .pii("EMAIL_ADDRESS", f"{user} dot {last} at {domain.replace('.', ' dot ')}", ".")
            .build(),
            _Builder()
            .say("The card number is")
            .pii("CREDIT_CARD", " ".join(card[k : k + 4] for k in range(0, 16, 4)), ",")
            .say(f"and the total was {amount:,} dollars.")
            .build(),
            _Builder().say("Card").pii("CREDIT_CARD", _digits_spoken(card, (4, 4, 4, 4)), ".").build(),
            _Builder().say("Please wire it to").pii("IBAN", _iban(rng), ".").build(),
            _Builder().say("My social security number is").pii("US_SSN", f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}", ".").build(),
            _Builder().say("The social security number is").pii("US_SSN", _digits_spoken(ssn, (3, 2, 4)), ".").build(),
            _Builder().say("The old server is at").pii("IP_ADDRESS", ip, ",").say(f"it runs version {count}.2.").build(),
            _Builder().say("We moved to").pii("STREET_ADDRESS", street, ",").say(f"about {count} miles away.").build(),
            _Builder().say("She was born on").pii("DATE_OF_BIRTH", born, ".").build(),
            _Builder()
            .say(
                f"The meeting on {rng.choice(MONTHS)} {rng.randrange(1, 28)} starts at {hour} and room"
                f" {rng.randrange(100, 999)} seats {count} people."
            )
            .build(),
            _Builder()
            .say(
                f"Revenue grew {count} percent to {amount:,} dollars in {rng.randrange(2015, 2026)}"
                f" with {count * 3} new customers."
            )
            .build(),
            _Builder().say("I talked to").pii("PERSON", rng.choice(FIRST)).say("about the budget yesterday.").build(),
            _Builder()
            .pii("PERSON", rng.choice(FIRST))
            .say("and")
            .pii("PERSON", rng.choice(FIRST))
            .say(f"will review the {count} open tickets on Monday.")
            .build(),
            _Builder()
            .say("Try")
            .pii("PHONE_NUMBER", f"{phone[:3]} {phone[3:6]} {phone[6:]}")
            .say("if the line is busy.")
            .build(),
            _Builder()
            .say("Her address is")
            .pii("EMAIL_ADDRESS", f"{user}{rng.randrange(10, 99)}@{domain}", ",")
            .say("I think.")
            .build(),
            _Builder()
            .say("My date of birth is")
            .pii("DATE_OF_BIRTH", f"{rng.randrange(1, 12)}/{rng.randrange(1, 28)}/{rng.randrange(1950, 2004)}", ".")
            .build(),
            _Builder().say("I live at").pii("STREET_ADDRESS", street).say("in Springfield.").build(),
            _Builder().say("The number on file is").pii("US_SSN", f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}", ".").build(),
        ]
    return out
