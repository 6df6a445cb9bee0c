"""Redaction's parts: spoken forms, entity options, findings mapped onto words (on a fake engine and on
Presidio), the NER pipeline's provenance, Cloud DLP's response shapes and the redacted audio."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import numpy as np
import pytest
import soundfile

from mixscribe.config import Settings
from mixscribe.errors import PermanentError
from mixscribe.gcp.dlp import DlpEngine
from mixscribe.redaction.apply import RECORD, Redaction, redact_transcript
from mixscribe.redaction.audio import TONE_LEVEL, redact_audio, spans_of
from mixscribe.redaction.engines import SPACY_PACKAGE, Finding, ModelMismatch, PresidioEngine, check_pipeline
from mixscribe.redaction.entities import DEFAULT, UnknownEntity, parse_redact
from mixscribe.redaction.spoken import normalize
from mixscribe.transcript import Segment, Transcript, Word
from mixscribe.uploads import parse_options

SETTINGS = Settings()


def _words(text: str) -> list[str]:
    return [f" {w}" for w in text.split(" ")]


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("call me at five five five, one two three, four five six seven, thanks", "call me at 555 123 4567, thanks"),
        ("it is double four seven", "it is 447"),
        ("call 5-5-5, 2-3-4, 5-6-7-8.", "call 555 234 5678."),  # digits one by one, as Whisper writes them
        ("mail john dot smith at example dot com, please", "mail john.smith@example.com, please"),
        ("or jane at example.com today", "or jane@example.com today"),
        ("the server is one nine two dot one six eight dot one dot twenty.", "the server is 192.168.1.20."),
        ("I said 555-123-4567 and twenty five dollars", "I said 555-123-4567 and twenty five dollars"),
        ("we meet at ten at the office", "we meet at ten at the office"),  # "at" without a domain is no address
    ],
)
def test_spoken_forms_are_written_out_for_the_analyzer(spoken: str, written: str) -> None:
    assert normalize(_words(spoken)).text == written


def test_whispers_glued_tokens_hundreds_and_digits_said_one_at_a_time() -> None:
    tokens = [" call", " me", " at", " 5", ".5", "-5", "-2", "-3", "-4", "-5", "-6", "-7", "-8.", " My", " email", " is"]
    tokens += [" Don", ".mith", " at", " www", ".example", ".com."]  # tokens without a space join the word before
    normalized = normalize(tokens)
    assert normalized.text == "call me at 5552345678. My email is don.mith@www.example.com."
    assert normalized.words_of(11, 21) == (3, 12) and normalized.words_of(36, 58) == (16, 21)
    spoken = normalize(_words("my number is four hundred fifteen five hundred fifty five zero one three four"))
    assert spoken.text == "my number is 4155550134"
    assert normalize(_words("call 5, 5, 5, 2, 3, 4, 5, 6, 7, 8 now")).text == "call 5552345678 now"
    assert normalize(_words("we have 3, 4 options for one hundred and five people")).text == "we have 3, 4 options for 105 people"


def test_every_piece_of_the_analyzers_text_maps_back_to_its_words() -> None:
    normalized = normalize(_words("call five five five, one two three now"))
    assert normalized.text == "call 555 123 now"
    assert normalized.words_of(5, 12) == (1, 6)  # "555 123" → the six spoken digits
    assert normalized.words_of(0, 4) == (0, 0)


def test_redact_option_takes_pii_or_entity_types_and_refuses_the_rest() -> None:
    assert parse_redact("pii") == DEFAULT and parse_redact("") == () and parse_redact("none") == ()
    assert parse_redact("Phone_Number, person,pii")[:2] == ("PHONE_NUMBER", "PERSON")
    with pytest.raises(UnknownEntity, match="unknown entity type 'social'"):
        parse_redact("social")
    options = parse_options({"redact": "email_address", "redact_audio": "true", "keep_original": "true"}, SETTINGS)
    assert (options.redact, options.redact_audio, options.keep_original) == (("EMAIL_ADDRESS",), True, True)
    assert options.to_dict()["redact"] == ["EMAIL_ADDRESS"]
    for bad, message in (
        ({"redact": "pii,cats"}, "unknown entity type 'cats'"),
        ({"redact_audio": "true"}, "redact_audio needs redact"),
        ({"keep_original": "true"}, "keep_original needs redact"),
        ({"redact": "pii", "redact_audio": "maybe"}, "redact_audio must be true or false"),
    ):
        with pytest.raises(PermanentError, match=message) as caught:
            parse_options(bad, SETTINGS)
        assert caught.value.code.value == "invalid_option"


class FakeRedactionEngine:
    """Finds the given strings in the text (an in-memory stand-in for an engine)."""

    name = "fake"

    def __init__(self, targets: dict[str, str]) -> None:
        self.targets = targets
        self.texts: list[str] = []

    def find(self, text: str, entities: tuple[str, ...]) -> list[Finding]:
        self.texts.append(text)
        found = []
        for needle, entity in self.targets.items():
            start = text.find(needle)
            if start >= 0 and entity in entities:
                found.append(Finding(start, start + len(needle), entity, 0.9))
        return found


def _transcript(*texts: str, step: float = 0.5) -> Transcript:
    segments, t = [], 0.0
    for k, text in enumerate(texts):
        words = []
        for w in _words(text):
            words.append(Word(t, t + step * 0.8, w, 0.9))
            t += step
        segments.append(Segment(k, words[0].start, words[-1].end, "".join(w.word for w in words), words=tuple(words)))
    return Transcript("j1", "en", 1.0, t, "tiny.en", {}, tuple(segments))


def test_findings_become_one_tagged_word_per_segment_with_their_time_and_punctuation() -> None:
    transcript = _transcript("I am Ann Lee, call five five five,", "one two three four please.")
    engine = FakeRedactionEngine({"Ann Lee": "PERSON", "555 1234": "PHONE_NUMBER"})
    redacted, redactions = redact_transcript(transcript, engine, ("PERSON", "PHONE_NUMBER"))
    assert engine.texts == ["I am Ann Lee, call 555 1234 please."]  # one text: the number spans both segments
    first, second = redacted.segments
    assert first.text == "I am [PERSON], call [PHONE_NUMBER],"
    assert second.text == "[PHONE_NUMBER] please."
    person = next(w for w in first.words if w.word.strip() == "[PERSON],")
    assert (person.start, person.end) == (transcript.segments[0].words[2].start, transcript.segments[0].words[3].end)
    assert [r.entity for r in redactions] == ["PERSON", "PHONE_NUMBER"]  # one finding across two segments
    first_digit, last_digit = transcript.segments[0].words[5], transcript.segments[1].words[3]
    assert (redactions[1].start, redactions[1].end) == (first_digit.start, last_digit.end)
    record = {"entities": ["PERSON", "PHONE_NUMBER"], "engine": "fake", "findings": {"PERSON": 1, "PHONE_NUMBER": 1}}
    assert redacted.options[RECORD] == record
    for rendering in redacted.renderings().values():
        assert "Ann" not in rendering and "five" not in rendering and "[PERSON]" in rendering


def test_a_segment_without_word_timestamps_is_redacted_in_its_text() -> None:
    segment = Segment(0, 0.0, 4.0, " call 555-123-4567 now, John")
    transcript = Transcript("j1", "en", 1.0, 4.0, "tiny.en", {}, (segment,))
    engine = FakeRedactionEngine({"555-123-4567": "PHONE_NUMBER", "123-4567": "US_SSN", "John": "PERSON"})
    redacted, redactions = redact_transcript(transcript, engine, ("PHONE_NUMBER", "US_SSN", "PERSON"))
    assert redacted.segments[0].text == " call [PHONE_NUMBER] now, [PERSON]"  # of overlapping findings, the first
    assert {(r.start, r.end) for r in redactions} == {(0.0, 4.0)}  # the segment's time: no word times to narrow it


def test_only_the_entity_types_asked_for_are_redacted() -> None:
    transcript = _transcript("I am Ann Lee")
    redacted, redactions = redact_transcript(transcript, FakeRedactionEngine({"Ann Lee": "PERSON"}), ("PHONE_NUMBER",))
    assert redacted.segments == transcript.segments and redactions == []


@pytest.fixture(scope="module")
def presidio() -> PresidioEngine:
    return PresidioEngine()


def test_presidio_finds_written_and_spoken_pii_and_leaves_times_and_amounts(presidio: PresidioEngine) -> None:
    transcript = _transcript(
        "Hi, I'm John Smith, call me at five five five, two three four, five six seven eight.",
        "Write to john dot smith at example dot com. My card is 4111 1111 1111 1111",
        "and my social security number is 536-90-4399. I live at 221 Baker Street.",
        "I was born on March 3, 1985. The server is 192.168.1.20, IBAN DE89 3704 0044 0532 0130 00.",
        "We meet at 3 pm on Friday, the budget is 12,000 dollars and we need 25 chairs.",
    )
    redacted, redactions = redact_transcript(transcript, presidio, DEFAULT)
    text = redacted.text
    for gone in ("John", "Smith", "five", "john", "example", "4111", "4399", "Baker", "1985", "192.168", "DE89"):
        assert gone not in text, (gone, text)
    assert sorted({r.entity for r in redactions}) == sorted(DEFAULT)
    assert "We meet at 3 pm on Friday, the budget is 12,000 dollars and we need 25 chairs." in text


def test_the_ner_pipeline_is_spacys_published_release_and_a_changed_one_is_refused(tmp_path: Path) -> None:
    import importlib

    package = Path(str(importlib.import_module(SPACY_PACKAGE).__file__)).parent
    root = next(package.glob(f"{SPACY_PACKAGE}-*"))
    meta = json.loads((root / "meta.json").read_text())
    # spaCy's published meta of en_core_web_sm 3.8.0 (explosion/spacy-models, meta/en_core_web_sm-3.8.0.json)
    assert (meta["version"], meta["spacy_git_version"], meta["performance"]["ents_f"]) == ("3.8.0", "5010fcbd3", 0.8433119744)
    assert meta["performance"]["ents_per_type"]["PERSON"] == {"p": 0.8574969021, "r": 0.9033942559, "f": 0.8798474253}
    assert meta["performance"]["speed"] == 9426.1029865937
    check_pipeline(root)
    copy = tmp_path / "pipeline"
    for relative in ("ner/model", "tok2vec/model"):
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        (copy / relative).write_bytes((root / relative).read_bytes())
    check_pipeline(copy)
    (copy / "ner" / "model").write_bytes(b"not the weights")
    with pytest.raises(ModelMismatch, match="ner/model"):
        check_pipeline(copy)


def test_cloud_dlp_findings_map_to_our_entity_types_and_offsets() -> None:
    requests: list[dict[str, Any]] = []

    def inspect_content(request: dict[str, Any]) -> Any:
        requests.append(request)
        finding = SimpleNamespace(
            info_type=SimpleNamespace(name="PHONE_NUMBER"),
            likelihood=SimpleNamespace(value=4),
            location=SimpleNamespace(codepoint_range=SimpleNamespace(start=8, end=20)),
        )
        other = SimpleNamespace(info_type=SimpleNamespace(name="AGE"), likelihood=5, location=finding.location)
        return SimpleNamespace(result=SimpleNamespace(findings=[finding, other]))

    engine = DlpEngine("proj", client=SimpleNamespace(inspect_content=inspect_content))
    found = engine.find("call me 555-123-4567", ("PHONE_NUMBER", "PERSON"))
    assert found == [Finding(8, 20, "PHONE_NUMBER", 0.8)]
    assert requests[0]["parent"] == "projects/proj/locations/global"
    assert requests[0]["inspect_config"]["info_types"] == [{"name": "PHONE_NUMBER"}, {"name": "PERSON_NAME"}]


def _decoded(data: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray() for f in container.decode(stream)]
        rate = stream.codec_context.sample_rate
    return np.concatenate([f.reshape(-1) for f in frames]), rate


@pytest.mark.parametrize(("extension", "subtype"), [("wav", "PCM_16"), ("flac", "PCM_24")])
def test_redacted_audio_fills_the_spans_and_leaves_every_other_sample(tmp_path: Path, extension: str, subtype: str) -> None:
    rate = 16000
    noise = np.random.default_rng(1).uniform(-0.5, 0.5, 3 * rate).astype(np.float32)
    path = tmp_path / f"a.{extension}"
    soundfile.write(str(path), noise, rate, subtype=subtype)
    source = path.read_bytes()
    findings = [Redaction("PERSON", 1.0, 1.5)]
    before, _ = _decoded(source)
    for fill in ("silence", "tone"):
        after, after_rate = _decoded(redact_audio(source, extension, findings, 0.1, fill))
        assert after_rate == rate and after.shape == before.shape and after.dtype == before.dtype
        inside = slice(int(0.9 * rate), int(1.6 * rate))
        outside = np.ones(before.shape[0], bool)
        outside[inside] = False
        assert np.array_equal(after[outside], before[outside])  # sample-identical elsewhere
        scale = float(np.iinfo(after.dtype).max)
        level = np.abs(after[inside].astype(np.float64)) / scale
        if fill == "silence":
            assert level.max() == 0
        else:
            assert level.max() == pytest.approx(TONE_LEVEL, rel=0.01)
    with pytest.raises(ValueError, match="no redacted audio for .xyz"):
        redact_audio(source, "xyz", findings, 0.1, "tone")


def _channels_48k(data: bytes) -> tuple[np.ndarray, str, str]:
    """Decoded audio as (samples, channels) float at 48 kHz, its layout and codec names."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        layout = stream.codec_context.layout
        to_float = av.AudioResampler(format="flt", layout=layout, rate=48000)
        count = len(layout.channels)
        parts = [f.to_ndarray().reshape(-1, count) for frame in container.decode(stream) for f in to_float.resample(frame)]
        return np.concatenate(parts), layout.name, stream.codec_context.name


@pytest.mark.parametrize(
    ("extension", "args", "codec"),
    [
        ("opus", ["-c:a", "libopus"], "opus"),
        ("opus", ["-ac", "6", "-c:a", "libopus"], "opus"),
        ("opus", ["-filter_complex", "[0]asplit=9[a][b][c][d][e][f][g][h][i];[a][b][c][d][e][f][g][h][i]amerge=inputs=9",
                  "-c:a", "libopus", "-mapping_family", "255"], "opus"),
        ("ogg", ["-ac", "2", "-c:a", "libvorbis"], "vorbis"),
        ("ogg", ["-c:a", "libvorbis"], "opus"),  # mono Vorbis: FFmpeg's own encoder writes stereo only
        ("mp3", ["-c:a", "libmp3lame"], "mp3float"),
        ("m4a", ["-ac", "2", "-c:a", "aac"], "aac"),
    ],
)  # fmt: skip
def test_lossy_audio_is_redacted_in_its_container_and_channels(
    tmp_path: Path, extension: str, args: list[str], codec: str
) -> None:
    """Opus (mono, 5.1, 9 unnamed channels), Vorbis, MP3 and AAC: re-encoded once with every channel,
    the span silent, the speech elsewhere kept."""
    from tests.conftest import SAMPLE, ffmpeg

    path = tmp_path / f"speech.{extension}"
    ffmpeg("-i", str(SAMPLE), *args, str(path))
    before, layout, _ = _channels_48k(path.read_bytes())
    after, after_layout, after_codec = _channels_48k(
        redact_audio(path.read_bytes(), extension, [Redaction("PERSON", 3.0, 4.0)], 0.1, "silence")
    )
    assert (after_layout, after_codec) == (layout, codec)
    assert abs(after.shape[0] - before.shape[0]) < 0.08 * 48000  # an encoder's priming and last frame's padding
    outside = slice(int(5.0 * 48000), int(8.0 * 48000))
    loudest = int(np.argmax(np.abs(before[outside]).max(axis=0)))
    # an encoder's delay (AAC's priming) shifts the whole re-encoded file: found on the speech after the span
    lag = max(
        range(-4000, 4001, 4),
        key=lambda k: float(np.sum(after[outside.start + k : outside.stop + k, loudest] * before[outside, loudest])),
    )
    assert lag == 0 or (codec == "aac" and 0 < lag <= 0.07 * 48000)  # AAC: 1024 samples of priming left in
    assert np.abs(after[int(2.95 * 48000) + lag : int(4.05 * 48000) + lag]).max() < 0.01  # silenced in every channel
    kept = after[outside.start + lag : outside.stop + lag]
    for channel in np.flatnonzero(np.abs(before[outside]).max(axis=0) > 0.1):  # every channel that carries the speech
        correlation = np.corrcoef(kept[:, channel], before[outside, channel])[0, 1]
        assert correlation > 0.9, f"the speech outside the span changed in channel {channel}: correlation {correlation:.3f}"


def test_audio_spans_widen_merge_and_stay_inside_the_file() -> None:
    spans = spans_of([Redaction("A", 0.05, 0.5), Redaction("B", 0.6, 1.0), Redaction("C", 2.9, 3.2)], 0.1, 3.0)
    assert [(round(s.start_s, 2), round(s.end_s, 2)) for s in spans] == [(0.0, 1.1), (2.8, 3.0)]
