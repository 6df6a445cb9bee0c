"""Spoken forms written out for the analyzer: "five five five, one two three" → ``555 123``,
"john at example dot com" → ``john@example.com``.

Whisper writes most numbers as digits, but not always: digits read one by one, "double four" and
spelled-out e-mail addresses come back as words. ``normalize`` turns a transcript's words into the
text an analyzer sees, and keeps, for every piece of that text, the range of words it came from, so a
finding in the text maps back to words (and their timestamps).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIGITS = {
    "zero": "0", "oh": "0", "nought": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7", "eighty": "8", "ninety": "9"}
REPEATS = {"double": 2, "triple": 3}
SEPARATORS = {"dash": "-", "hyphen": "-", "dot": ".", "point": "."}  # inside a run of numbers
TLDS = frozenset("com org net edu gov io co uk de fr es it nl ch at eu us ca au info biz me dev app ai".split())
_CORE = re.compile(r"^\W*(.*?)[\W]*$")


@dataclass(frozen=True)
class Piece:
    """``text`` of the analyzer's input at ``[start, end)``, from words ``first``..``last``."""

    start: int
    end: int
    first: int
    last: int


@dataclass(frozen=True)
class Normalized:
    text: str
    pieces: tuple[Piece, ...]

    def words_of(self, start: int, end: int) -> tuple[int, int] | None:
        """The first and last word behind characters ``[start, end)``."""
        covered = [p for p in self.pieces if p.start < end and start < p.end]
        return (min(p.first for p in covered), max(p.last for p in covered)) if covered else None


def _bare(word: str) -> str:
    return _CORE.sub(r"\1", word.strip()).lower()


def _trailing_pause(word: str) -> bool:
    return word.rstrip().endswith((",", ";", ":"))


def _below_hundred(words: list[str], k: int) -> tuple[int, int] | None:
    """A number word under a hundred from word ``k`` ("fifteen", "fifty five", "seven") and its words."""
    bare = _bare(words[k]) if k < len(words) else ""
    if bare in TEENS:
        return int(TEENS[bare]), 1
    if bare in TENS:
        after = _bare(words[k + 1]) if k + 1 < len(words) else ""
        if after in DIGITS and after not in ("oh", "zero", "nought"):
            return int(TENS[bare] + DIGITS[after]), 2
        return int(TENS[bare] + "0"), 1
    if bare in DIGITS:
        return int(DIGITS[bare]), 1
    return None


def _number_at(words: list[str], k: int) -> tuple[str, int] | None:
    """The digits spoken from word ``k`` on and how many words they take, or ``None``."""
    bare = _bare(words[k])
    if re.fullmatch(r"\d+", bare):
        return bare, 1
    if re.fullmatch(r"\d(?:-\d)+|\d(?:[-.]\d){2,}", bare):  # digits said one by one, written 5-5-5 or 5.5-2
        return re.sub(r"[-.]", "", bare), 1
    if bare in REPEATS and k + 1 < len(words) and _bare(words[k + 1]) in DIGITS:
        return DIGITS[_bare(words[k + 1])] * REPEATS[bare], 2
    if bare in DIGITS and k + 1 < len(words) and _bare(words[k + 1]) == "hundred":  # "four hundred fifteen"
        skip = 3 if k + 2 < len(words) and _bare(words[k + 2]) == "and" else 2
        rest = _below_hundred(words, k + skip)
        return (f"{int(DIGITS[bare]) * 100 + rest[0]}", skip + rest[1]) if rest else (f"{DIGITS[bare]}00", 2)
    below = _below_hundred(words, k)
    return (str(below[0]), below[1]) if below else None


def _single_digits(words: list[str], first: int, last: int) -> bool:
    """Words ``first``..``last`` are digits written one at a time ("5, 5, 5, 2")."""
    return all(re.fullmatch(r"\d", _bare(w)) for w in words[first : last + 1])


def _digit_run(words: list[str], k: int) -> tuple[list[tuple[str, int, int]], int] | None:
    """Two or more numbers in a row from word ``k``: ``(digits, first, last)`` groups and the words taken.
    Numbers said without a pause join one group; a comma, "dash" or a digit string starts a new one."""
    groups: list[tuple[str, int, int]] = []
    j = k
    while j < len(words):
        found = _number_at(words, j)
        if found is None:
            if groups and _bare(words[j]) in SEPARATORS and j + 1 < len(words) and _number_at(words, j + 1):
                groups.append((SEPARATORS[_bare(words[j])], j, j))
                j += 1
                continue
            break
        digits, taken = found
        spoken = not re.fullmatch(r"\d+", _bare(words[j]))
        last = j + taken - 1
        if groups and _single_digits(words, j, last) and _single_digits(words, groups[-1][1], groups[-1][2]):
            groups[-1] = (groups[-1][0] + digits, groups[-1][1], last)  # one digit at a time, pauses or not
            j = last + 1
            continue
        if groups and spoken and groups[-1][0] not in "-." and not _trailing_pause(words[groups[-1][2]]):
            previous = groups[-1]
            if not re.fullmatch(r"\d+", _bare(words[previous[1]])):
                groups[-1] = (previous[0] + digits, previous[1], last)
                j = last + 1
                continue
        groups.append((digits, j, last))
        j = last + 1
    numbers = sum(1 for g in groups if g[0] not in "-.")
    spoken_words = sum(1 for w in words[k:j] if not re.fullmatch(r"\d+", _bare(w)))
    if numbers >= 2 or (numbers == 1 and (spoken_words or j - k >= 2) and len(groups[0][0]) >= 3):
        while groups and groups[-1][0] in "-.":
            groups.pop()
        return groups, groups[-1][2] - k + 1
    return None


def _email_at(words: list[str], k: int) -> tuple[str, int] | None:
    """A spelled-out address from word ``k``: ``name (dot name)* at domain (dot part)+``, ending in a TLD."""
    parts: list[str] = []
    j, seen_at, dots_after_at = k, False, 0
    expect_name = True
    while j < len(words):
        bare = _bare(words[j])
        if expect_name:
            if not re.fullmatch(r"[a-z0-9][a-z0-9._+-]*", bare) or bare in ("at", "dot"):
                break
            parts.append(bare)
            dots_after_at += seen_at and "." in bare
            expect_name = False
            j += 1
            if re.search(r"[.,;:!?]$", words[j - 1].rstrip()) and not words[j - 1].rstrip().endswith("."):
                break
            continue
        if bare == "at" and not seen_at:
            seen_at, expect_name = True, True
            parts.append("@")
        elif bare == "dot":
            dots_after_at += seen_at
            expect_name = True
            parts.append(".")
        else:
            break
        j += 1
    while parts and parts[-1] in ("@", "."):
        parts.pop()
        j -= 1
    if not seen_at or not dots_after_at or parts[-1].rsplit(".", 1)[-1] not in TLDS:
        return None
    return "".join(parts), j - k


def _glued(tokens: list[str]) -> tuple[list[str], list[tuple[int, int]]]:
    """Whisper's word tokens joined where one has no leading space (" 5" ".5" "-2" → " 5.5-2"), and
    the tokens each joined word spans."""
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    for index, token in enumerate(tokens):
        if words and token and not token[0].isspace():
            words[-1] += token
            spans[-1] = (spans[-1][0], index)
        else:
            words.append(token)
            spans.append((index, index))
    return words, spans


def normalize(tokens: list[str]) -> Normalized:
    """The analyzer's text for Whisper's word ``tokens`` (leading spaces and punctuation included) and
    the tokens each piece of it came from."""
    words, spans = _glued(tokens)
    text: list[str] = []
    pieces: list[Piece] = []
    cursor = 0

    def emit(piece: str, first: int, last: int, space: bool = True) -> None:
        nonlocal cursor
        if space and text:
            text.append(" ")
            cursor += 1
        text.append(piece)
        pieces.append(Piece(cursor, cursor + len(piece), spans[first][0], spans[last][1]))
        cursor += len(piece)

    def _tail(index: int) -> None:
        """The punctuation that ended word ``index``, kept after what replaced it."""
        mark = words[index].rstrip()[-1:]
        if mark and mark in ",.;:!?":
            emit(mark, index, index, space=False)

    k = 0
    while k < len(words):
        email = _email_at(words, k)
        if email:
            address, taken = email
            emit(address, k, k + taken - 1)
            k += taken
            _tail(k - 1)
            continue
        run = _digit_run(words, k)
        if run:
            groups, taken = run
            for digits, first, last in groups:
                emit(digits, first, last, space=digits not in "-." and not (pieces and text[-1] in "-."))
            k += taken
            _tail(k - 1)
            continue
        emit(words[k].strip(), k, k)
        k += 1
    return Normalized("".join(text), tuple(pieces))
