"""Speaker turns on a real two-person telephone conversation (../shared/data/speech-two-speakers.*)."""

from __future__ import annotations

import itertools

import numpy as np

from annotate import sound
from annotate.turns import TurnConfig, speaker_turns


def lines(shared_data) -> list[tuple[str, float, float]]:
    """(speaker, start, end) of each line of the conversation's .stm transcript."""
    return [(p[2], float(p[3]), float(p[4])) for p in (line.split() for line in
                                                       (shared_data / "speech-two-speakers.stm").read_text().splitlines())]


def reference_turns(shared_data) -> list[tuple[float, float, str]]:
    """(start, end, speaker) of the .rttm's speaker turns."""
    return [(float(p[3]), float(p[3]) + float(p[4]), p[7]) for p in (line.split() for line in
                                                                     (shared_data / "speech-two-speakers.rttm")
                                                                     .read_text().splitlines())]


def matched(found: list[float], truth: list[float], tolerance: float = 0.5) -> int:
    """How many of ``found`` match a distinct one of ``truth`` within ``tolerance`` (greedy, nearest first)."""
    free, hits = list(truth), 0
    for t in found:
        near = [x for x in free if abs(x - t) <= tolerance]
        if near:
            free.remove(min(near, key=lambda x: abs(x - t)))
            hits += 1
    return hits


def test_turns_of_a_real_conversation_follow_its_speakers(shared_data):
    audio = sound.read_audio(shared_data / "speech-two-speakers.wav")
    turns = speaker_turns(audio, sound.speech_spans(audio), TurnConfig())
    assert {t.speaker for t in turns} == {"S1", "S2"} and turns[0].speaker == "S1"
    assert all(a.end_s <= b.start_s and a.start_s < a.end_s for a, b in zip(turns, turns[1:]))
    # (a) change points within 0.5 s of the transcript's (midway between lines of different speakers): of 8, the
    # first one (7.4 s) lies before a short "Hello?" the VAD misses; measured precision 6/6, recall 6/8
    script = lines(shared_data)
    truth = [(a[2] + b[1]) / 2 for a, b in zip(script, script[1:]) if a[0] != b[0]]
    found = [(a.end_s + b.start_s) / 2 for a, b in zip(turns, turns[1:]) if a.speaker != b.speaker]
    hits = matched(found, truth)
    assert hits / len(found) >= 0.8 and hits / len(truth) >= 0.6, (found, truth)
    # (b) share of the reference's single-speaker speech time given another speaker (or none) after the best
    # mapping of labels: measured 0.089 (0.083 of it confusion, the rest the VAD's misses)
    reference = reference_turns(shared_data)
    grid = np.arange(0, 30, 0.01) + 0.005
    who = [[s for a, b, s in reference if a <= t < b] for t in grid]
    said = [next((u.speaker for u in turns if u.start_s <= t < u.end_s), None) for t in grid]
    names = sorted({s for _, _, s in reference})
    error = min(np.mean([m.get(h) != r[0] for r, h in zip(who, said) if len(r) == 1])
                for m in (dict(zip(p, names)) for p in itertools.permutations(["S1", "S2"])))
    assert error <= 0.12, error
    # (c) the majority speaker of each transcript line, mapped to the names: measured 12 of 13 as the reference
    # (Sheila's first "Hello?", 0.5 s right after Diane's, goes to Diane)
    majority = []
    for _, a, b in script:
        overlap = {name: sum(max(0.0, min(b, u.end_s) - max(a, u.start_s)) for u in turns if u.speaker == name)
                   for name in ("S1", "S2")}
        majority.append(max(overlap, key=overlap.get))
    best = max(sum(dict(zip(p, ["Diane", "Sheila"]))[m] == s for m, (s, _, _) in zip(majority, script))
               for p in itertools.permutations(["S1", "S2"]))
    assert best >= 11, majority


def test_one_speaker_alone_gets_one_label(shared_data):
    audio = sound.read_audio(shared_data / "speech-two-speakers.wav")
    for name in ("Sheila", "Diane"):
        alone = sound.Audio(np.concatenate([audio.clip(a, b) for s, a, b in lines(shared_data) if s == name]))
        turns = speaker_turns(alone, sound.speech_spans(alone))
        assert turns and {t.speaker for t in turns} == {"S1"}, (name, turns)


def test_silence_has_no_turns():
    silence = sound.Audio(np.zeros(5 * sound.SAMPLE_RATE, np.float32), 2.0)
    assert speaker_turns(silence, sound.speech_spans(silence)) == []
    assert speaker_turns(silence, [(2.0, 7.0)]) == []  # a span over digital silence
