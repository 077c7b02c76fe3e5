"""The dialogue stage: subtitles and speech reconciled into timed lines, each with its speaker where one
character is in view, placed in the frames and in the speaker's line; bgm from the sound track."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from burned_subtitles import FPS, bunny, burn
from factories import frame_sample
from tiny_models import save_tiny_audio_models
from videos import click_track, write_video, write_video_with_audio

from annotate import sound
from annotate.dialogue import DialogueConfig, DialogueStage, Line, reconcile, speaker_of
from annotate.keyframes import KeyframesConfig, KeyframesStage
from annotate.runner import run_stage
from annotate.script import ScriptConfig, ScriptStage
from annotate.subtitles import SubtitleLine
from annotate.turns import Turn
from builder.shards import iter_shard, shard_paths


def sub(text: str, start: float, end: float) -> SubtitleLine:
    return SubtitleLine(text, start, end, 0.9, 4)


def test_subtitles_take_the_speech_timing_and_voice_and_untitled_speech_is_counted():
    counts: Counter = Counter()
    turns = [Turn(0.9, 2.6, "S1"), Turn(3.0, 4.0, "S2"), Turn(7.0, 8.0, "S1"), Turn(9.0, 10.0, "S2"),
             Turn(11.0, 16.0, "S1")]
    lines = reconcile([sub("Where were you?", 1.0, 2.4), sub("Outside.", 5.0, 6.0), sub("Then inside.", 9.2, 10.5),
                       sub("Long talk.", 12.5, 13.5)],
                      turns, ["where were you", None, "fine then", "then", "a long span"], counts)
    assert [(l.text, l.start_s, l.end_s, l.source, l.voice) for l in lines] == [
        ("Where were you?", 0.9, 2.6, "subtitle+speech", "S1"),  # the subtitle's text, the speech's timing
        ("Outside.", 5.0, 6.0, "subtitle", None),
        ("fine then", 7.0, 8.0, "speech", "S1"),  # transcribed speech no subtitle covers
        ("Then inside.", 9.0, 10.0, "subtitle+speech", "S2"),  # read late and shown after the speech: its edges
        ("Long talk.", 12.5, 13.5, "subtitle+speech", "S1"),  # inside a long turn: no speech edge near, times kept
    ]
    assert counts == {"speech_turns_without_text": 1}  # (3.0, 4.0): speech without a transcript


def people_frame(i: int, time_s: float, shot: int, ids: list[str]):
    sample = frame_sample(i)
    people = sample.record["people"][:1] * len(ids)
    sample.record.update(time_s=time_s, shot_index=shot, dialogue=[],
                         people=[dict(p, person_id=pid, line=None) for p, pid in zip(people, ids)])
    return sample


def test_speaker_is_the_one_character_in_view():
    one, two, nobody = people_frame(0, 1.0, 0, ["C01"]), people_frame(1, 2.0, 0, ["C01", "C02"]), \
        people_frame(2, 3.0, 0, [])
    assert speaker_of([one]) == ("C01", None)
    assert speaker_of([one, people_frame(3, 1.5, 0, ["C01"])]) == ("C01", None)
    assert speaker_of([one, two]) == (None, "several_people")
    assert speaker_of([nobody]) == (None, "no_person")
    assert speaker_of([]) == (None, "no_keyframe")


def test_lines_go_to_the_frames_they_cover_else_the_nearest_of_their_shot():
    frames = [people_frame(0, 1.0, 0, ["C01"]), people_frame(1, 3.0, 0, ["C01"]), people_frame(2, 6.0, 1, ["C02"])]
    shots = [{"index": 0, "start_s": 0.0, "end_s": 5.0}, {"index": 1, "start_s": 5.0, "end_s": 9.0},
             {"index": 2, "start_s": 9.0, "end_s": 12.0}]
    lines = [Line("Hello.", 0.5, 3.5, "subtitle", speaker="C01"),  # covers frames 0 and 1
             Line("Later.", 7.5, 8.5, "speech", "S2", "C02"),  # covers none: the nearest frame of shot 1
             Line("Nobody sees this.", 10.0, 11.0, "subtitle")]  # shot 2 has no keyframe
    counts: Counter = Counter()
    DialogueStage(DialogueConfig()).place(lines, frames, shots, counts)
    assert [[d["text"] for d in f.record["dialogue"]] for f in frames] == [["Hello."], ["Hello."], ["Later."]]
    assert [f.record["people"][0]["line"] for f in frames] == ["Hello.", "Hello.", "Later."]
    assert frames[2].record["dialogue"][0] == {"text": "Later.", "start_s": 7.5, "end_s": 8.5, "source": "speech",
                                               "speaker": "C02", "voice": "S2"}
    assert counts == {"lines_in_no_frame": 1}


# --- the stage on real video ---

def frames_of(folder) -> list:
    return [s for p in shard_paths(folder) for s in iter_shard(p) if s.kind == "frame"]


def keyframes_of(video, out) -> None:
    run_stage(KeyframesStage(KeyframesConfig(every_s=1)), video, out, progress=False)


@pytest.fixture(scope="module")
def talk(shared_data, tmp_path_factory):
    """12 s of real frames with Chinese and English subtitles burned in, over the real two-person conversation
    from its 3rd second (speech from 3.7 s), through keyframes, then dialogue with a tiny random ASR model, then
    script."""
    root = tmp_path_factory.mktemp("talk")
    frames = bunny(shared_data, 12 * FPS)
    shown = burn(frames)
    speech = sound.read_audio(shared_data / "speech-two-speakers.wav").samples[3 * sound.SAMPLE_RATE:
                                                                             15 * sound.SAMPLE_RATE]
    video = write_video_with_audio(root / "talk.mp4", frames, speech, rate=sound.SAMPLE_RATE)
    keyframes_of(video, root / "keyframes")
    models = save_tiny_audio_models(root / "models")
    run_stage(DialogueStage(DialogueConfig(asr_model=str(models["asr"]))), root / "keyframes", root / "dialogue",
              progress=False)
    run_stage(ScriptStage(ScriptConfig()), root / "dialogue", root / "script", progress=False)
    return shown, root


def test_subtitles_and_speech_become_timed_lines_in_frames_and_scripts(talk):
    shown, root = talk
    frames = frames_of(root / "dialogue")
    lines = {(d["text"], d["start_s"], d["end_s"], d["source"]) for f in frames for d in f.record["dialogue"]}
    subtitled = sorted((l for l in lines if l[3] != "speech"), key=lambda l: l[1])
    assert [l[0] for l in subtitled] == [text for text, _, _, _ in shown]  # every line, once, in order
    for (text, start, end, source), (_, first, stop, _) in zip(subtitled, shown):
        assert source == ("subtitle" if stop / FPS < 3.6 else "subtitle+speech"), text  # speech from 3.7 s
        # read every 0.25 s, then moved to a speech edge within 0.5 s (this speech is not the subtitles' own)
        assert abs(start - first / FPS) <= 0.75 and abs(end - stop / FPS) <= 0.75, (text, start, end)
    for frame in frames:
        for said in frame.record["dialogue"]:
            assert said["speaker"] is None  # no character in view: nobody to assign
            assert (said["voice"] is None) == (said["source"] == "subtitle")  # a voice wherever speech lies under
    counts = json.loads((root / "dialogue" / "dialogue.stats.json").read_text())["counts"]
    assert counts["lines_unassigned_no_person"] + counts.get("lines_unassigned_no_keyframe", 0) == len(lines)
    assert all(f.record["bgm"] == {"present": False, "genre": None, "mood": None, "tempo": None, "tempo_text": None}
               for f in frames)  # a conversation, no music
    [script] = [s.record for p in shard_paths(root / "script") for s in iter_shard(p) if s.kind == "shooting_script"]
    said = [d for shot in script["shots"] for d in shot["dialogue"]]
    assert [d["line"] for d in said if d["line"] in {t for t, _, _, _ in shown}] == [t for t, _, _, _ in shown]
    assert all(d["start_s"] is not None for d in said)
    assert f'UNKNOWN: "{shown[0][0]}"' in script["text"]


def test_a_click_track_gives_music_with_its_tempo_and_a_genre(shared_data, tmp_path):
    video = write_video_with_audio(tmp_path / "clicks.mp4", bunny(shared_data, 8 * FPS), click_track(96, 8.0))
    keyframes_of(video, tmp_path / "keyframes")
    models = save_tiny_audio_models(tmp_path / "models")
    run_stage(DialogueStage(DialogueConfig(subtitles=False, music_genre_model=str(models["genre"]))),
              tmp_path / "keyframes", tmp_path / "dialogue", progress=False)
    frames = frames_of(tmp_path / "dialogue")
    assert frames and all(f.record["bgm"]["present"] for f in frames)
    assert all(abs(f.record["bgm"]["tempo"] - 96) <= 2 for f in frames), [f.record["bgm"] for f in frames]
    assert {f.record["bgm"]["genre"] for f in frames} <= {"pop", "rock", "classical", "electronic"}
    counts = json.loads((tmp_path / "dialogue" / "dialogue.stats.json").read_text())["counts"]
    assert counts["bgm_music"] == counts["bgm_mood_not_classified_no_model"] == len(frames)


def test_a_video_without_audio_has_bgm_null_and_counts_why(shared_data, tmp_path):
    keyframes_of(write_video(tmp_path / "silent.mp4", bunny(shared_data, 3 * FPS)), tmp_path / "keyframes")
    run_stage(DialogueStage(DialogueConfig()), tmp_path / "keyframes", tmp_path / "dialogue", progress=False)
    frames = frames_of(tmp_path / "dialogue")
    assert frames and all(f.record["bgm"] is None and f.record["dialogue"] == [] for f in frames)
    counts = json.loads((tmp_path / "dialogue" / "dialogue.stats.json").read_text())["counts"]
    assert counts["bgm_null_no_audio_stream"] == len(frames) and counts["no_subtitle_band"] == 1
