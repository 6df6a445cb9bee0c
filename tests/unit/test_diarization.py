"""The diarizer's parts: features and the ONNX encoder against their sources, clustering, labels,
renames, speakers across pieces, options; and the real encoder on espeak-ng voices."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mixscribe.config import Settings
from mixscribe.diarization.assign import RECORD, bounds_for, label_words
from mixscribe.diarization.diarizer import Diarization, SpeakerBounds, Turn, cluster, diarize
from mixscribe.diarization.encoder import MODEL, EncoderFile, EncoderMissing, VoiceEncoder, check_encoder
from mixscribe.diarization.features import mel_frames
from mixscribe.diarization.labels import InvalidNames, name_speakers, rename, with_summary
from mixscribe.diarization.stitching import match_speakers
from mixscribe.errors import PermanentError
from mixscribe.transcript import Segment, Transcript, Word
from mixscribe.uploads import parse_options
from tests.support.voices import conversation

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "voice_encoder_reference.npz"


@pytest.fixture(scope="module")
def encoder() -> VoiceEncoder:
    return VoiceEncoder(threads=1)


def test_mel_frames_equal_librosas() -> None:
    reference = np.load(REFERENCE)
    ours = mel_frames(reference["wave"])
    assert ours.shape == reference["wave_mel"].shape
    np.testing.assert_allclose(ours, reference["wave_mel"], rtol=1e-4, atol=1e-6 * float(reference["wave_mel"].max()))


def test_onnx_encoder_equals_the_pytorch_network_it_was_exported_from(encoder: VoiceEncoder) -> None:
    reference = np.load(REFERENCE)
    for batch in (1, 3):  # the batch axis is dynamic
        ours = encoder.embed(reference["mels"][:batch])
        np.testing.assert_allclose(ours, reference["embeddings"][:batch], atol=1e-5)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_an_encoder_file_that_is_not_the_declared_one_is_refused(tmp_path: Path) -> None:
    check_encoder()  # the committed file is the declared one
    copy = tmp_path / "voice_encoder.onnx"
    shutil.copyfile(MODEL.path, copy)
    with copy.open("r+b") as handle:
        handle.seek(MODEL.size // 2)
        byte = handle.read(1)
        handle.seek(MODEL.size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(EncoderMissing, match="SHA-256"):
        check_encoder(EncoderFile(copy, MODEL.sha256, MODEL.size, MODEL.source))
    with pytest.raises(EncoderMissing, match="missing"):
        check_encoder(EncoderFile(tmp_path / "absent.onnx", MODEL.sha256, MODEL.size, MODEL.source))


def _voices(groups: list[int], seed: int = 4, spread: float = 0.3) -> np.ndarray:
    """Unit vectors around one random centre per group (fake embeddings)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(groups), 256))
    rows = [
        centres[g] + rng.normal(scale=spread * np.linalg.norm(centres[g]) / 16, size=256)
        for g, n in enumerate(groups)
        for _ in range(n)
    ]
    out = np.array(rows)
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def test_clustering_estimates_the_count_within_bounds_or_takes_the_given_one() -> None:
    three = _voices([20, 15, 10])
    labels = cluster(three, SpeakerBounds())
    assert len(set(labels.tolist())) == 3
    assert labels[:20].tolist() == [labels[0]] * 20 and len(set(labels[20:35].tolist())) == 1  # pure clusters
    assert len(set(cluster(three, SpeakerBounds(exact=2)).tolist())) == 2
    assert len(set(cluster(three, SpeakerBounds(high=2)).tolist())) == 2
    assert len(set(cluster(three, SpeakerBounds(low=4)).tolist())) == 4
    assert set(cluster(_voices([30]), SpeakerBounds()).tolist()) == {0}
    # a single stray window (a cough, a turn's edge) is no speaker of its own
    stray = np.vstack([_voices([20, 20]), _voices([1], seed=9)])
    assert len(set(cluster(stray, SpeakerBounds()).tolist())) == 2
    # nor when the count is given: the two voices, not the stray against everyone else
    given = cluster(stray, SpeakerBounds(exact=2))
    assert len(set(given[:20].tolist())) == 1 and len(set(given[20:40].tolist())) == 1 and given[0] != given[20]


def _transcript(words: list[tuple[float, float, str]]) -> Transcript:
    segment = Segment(
        0,
        words[0][0],
        words[-1][1],
        "".join(w for _, _, w in words).strip(),
        words=tuple(Word(a, b, w, 0.9) for a, b, w in words),
    )
    return Transcript("j1", "en", 1.0, 10.0, "tiny.en", {}, (segment,))


def test_words_take_their_speaker_and_segments_split_where_the_speaker_changes() -> None:
    transcript = _transcript(
        [(0.0, 0.5, " Hello"), (0.5, 1.0, " there."), (2.1, 2.6, " Hi"), (2.6, 3.0, " back."), (3.1, 3.5, " Yes.")]
    )
    turns = Diarization([Turn(0.0, 2.0, 1), Turn(2.0, 3.05, 0), Turn(3.05, 4.0, 1)], np.zeros((2, 256), np.float32))
    named = with_summary(name_speakers(label_words(transcript, turns)))
    assert [(s.speaker, s.text) for s in named.segments] == [("S1", "Hello there."), ("S2", "Hi back."), ("S1", "Yes.")]
    assert [s.id for s in named.segments] == [0, 1, 2]
    assert all(w.speaker == s.speaker for s in named.segments for w in s.words)
    summary = {s.id: s for s in named.speakers}
    assert summary["S1"].words == 3 and summary["S2"].words == 2
    assert summary["S1"].talk_time_s == pytest.approx(1.4) and summary["S2"].talk_time_s == pytest.approx(0.9)
    assert sum(s.share for s in named.speakers) == pytest.approx(1.0, abs=1e-3)
    assert named.to_srt().splitlines()[2] == "S1: Hello there."
    data = named.to_dict()
    assert data["speakers"][0]["id"] == "S1" and data["segments"][1]["words"][0]["speaker"] == "S2"
    assert Transcript.from_dict(data) == named


def test_a_diarized_channel_keeps_its_name_as_prefix() -> None:
    transcript = _transcript([(0.0, 0.5, " One"), (2.5, 3.0, " two")])
    turns = Diarization([Turn(0.0, 2.0, 0), Turn(2.0, 3.5, 1)], np.zeros((2, 256), np.float32))
    named = name_speakers(label_words(transcript, turns, "host/"), keep=frozenset({"guest"}))
    assert [s.speaker for s in named.segments] == ["host-1", "host-2"]


def test_owners_rename_speakers_in_every_rendering_and_can_rename_again() -> None:
    transcript = _transcript([(0.0, 0.5, " Hello"), (2.1, 2.6, " Hi")])
    turns = Diarization([Turn(0.0, 2.0, 0), Turn(2.0, 3.0, 1)], np.zeros((2, 256), np.float32))
    named = with_summary(name_speakers(label_words(transcript, turns)))
    alice = rename(named, {"S1": "Alice", "S2": "Bob"})
    assert alice.to_txt() == "Alice: Hello\nBob: Hi\n"
    assert "Alice: Hello" in alice.to_vtt() and [s.label for s in alice.speakers] == ["Alice", "Bob"]
    swapped = rename(alice, {"S1": "Bob", "S2": "Alice"})  # ids stay, so names can move
    assert swapped.to_txt() == "Bob: Hello\nAlice: Hi\n"
    assert [s.id for s in swapped.speakers] == ["S1", "S2"]
    for bad in ({"S9": "X"}, {"S1": "Bob"}, {"S1": ""}, {"S1": "a:b"}, {"S1": " pad"}, {"S1": "x" * 65}):
        with pytest.raises(InvalidNames):
            rename(alice, bad)


def test_speakers_of_a_long_files_pieces_are_matched_by_voice() -> None:
    a, b, c = _voices([1, 1, 1], seed=11, spread=0.0)

    def piece(start: float, labels: list[str], centroids: dict[str, np.ndarray]) -> Transcript:
        words = [(start + k, start + k + 0.5, f" w{k}") for k in range(len(labels))]
        transcript = _transcript(words)
        segment = replace(
            transcript.segments[0], words=tuple(replace(w, speaker=lab) for w, lab in zip(transcript.segments[0].words, labels))
        )
        record = {"centroids": {k: v.tolist() for k, v in centroids.items()}, "windows": 3, "diarize_s": 0.1}
        return replace(transcript, segments=(segment,), options={RECORD: record})

    first = piece(0.0, ["0", "1"], {"0": a, "1": b})
    second = piece(10.0, ["0", "1"], {"0": b, "1": c})  # its "0" is the file's "1"; its "1" is new
    matched = match_speakers([first, second])
    assert [w.speaker for w in matched[0].segments[0].words] == ["0", "1"]
    assert [w.speaker for w in matched[1].segments[0].words] == ["1", "2"]


def test_speaker_options_are_checked_together() -> None:
    settings = Settings()
    model = settings.models().default_for("normal")
    options = parse_options({"diarize": "true", "min_speakers": "2", "max_speakers": "4"}, settings)
    assert options.diarize and (options.min_speakers, options.max_speakers) == (2, 4)
    assert bounds_for(options) == SpeakerBounds(low=2, high=4)
    assert bounds_for(parse_options({"diarize": "true", "speakers": "3"}, settings)) == SpeakerBounds(exact=3)
    assert parse_options({}, settings).diarize is False and parse_options({}, settings).model == model
    for bad in (
        {"diarize": "maybe"},
        {"speakers": "2"},  # without diarize
        {"diarize": "true", "speakers": "0"},
        {"diarize": "true", "speakers": "11"},
        {"diarize": "true", "speakers": "two"},
        {"diarize": "true", "speakers": "2", "max_speakers": "3"},
        {"diarize": "true", "min_speakers": "4", "max_speakers": "2"},
    ):
        with pytest.raises(PermanentError) as err:
            parse_options(bad, settings)
        assert err.value.code.value == "invalid_option"


def test_two_espeak_voices_come_back_as_two_speakers_with_their_turns(encoder: VoiceEncoder) -> None:
    mix = conversation("unit-two", ["ava", "cal"], 5)
    found = diarize(mix.samples, encoder)
    assert found.speakers == 2
    mapping: dict[int, str] = {}
    for start, end, voice in mix.turns:  # each reference turn is covered by one speaker, a distinct one per voice
        speaker = found.speaker_at(start + 0.2, end - 0.2)
        assert speaker is not None
        assert mapping.setdefault(speaker, voice) == voice
    assert len(mapping) == 2
    alone = diarize(conversation("unit-one", ["bob"], 3).samples, encoder)
    assert alone.speakers == 1
