"""Dialogue stage: burned-in subtitles, speech and the sound track fill the frames' ``dialogue``, ``people[].line``
and ``bgm`` (``skyscript dialogue IN OUT``; IN: calibrate's OUT, else repair's; the script stage comes after).

One task per video, reading its source video (the shots file's path, ``source_root`` for a moved input):

1. **Subtitles** (``annotate.subtitles``): frames sampled through each shot at ``subtitle_fps`` (raw, before any
   pixelation), the subtitle band found where text lines recur, read with RapidOCR and merged into timed lines.
2. **Speech** (``annotate.sound``, ``annotate.turns``): the Silero VAD's speech spans, split into speaker turns
   (BIC change points on MFCCs, turns grouped into voices S1, S2, ...); with ``asr_model`` (a transformers ASR
   model, ``annotate.audio_models``) each turn is transcribed. A subtitle line that speech overlaps keeps its text
   and takes the speech's timing: its start and end move to turn edges within 0.5 s, and the voice that speaks
   most of it is its ``voice`` (``subtitle+speech``); a transcribed turn no subtitle covers is a ``speech`` line;
   a turn without text is counted (``speech_turns_without_text``).
3. **Speaker**: a line's speaker is the one character (``person_id``) in the keyframes its time covers when there
   is exactly one; otherwise null, counted by reason (``lines_unassigned_no_keyframe``, ``..._no_person``,
   ``..._several_people``).
4. **Frames**: each line goes into the ``dialogue`` of the keyframes within its time, else of the nearest keyframe
   of the shot it starts in (``lines_in_no_frame`` when the shot has none), and into ``people[].line`` of its
   speaker there.
5. **Music** (``annotate.sound``): windows of the sound track classified silence / speech / music / noise; a
   frame's ``bgm.present`` is whether music windows make at least ``music_min_share`` of the windows within
   ``bgm_window_s`` of it, ``tempo`` the BPM measured over the run of music around it, ``genre`` and ``mood`` the
   top labels of ``music_genre_model`` / ``music_mood_model`` over that run (null without a model, counted).
   Without an audio track ``bgm`` is null (``bgm_null_no_audio_stream``).

Subtitle text is kept in the records (the official data keeps dialogue); the published frames keep their
pixelated subtitle regions as the privacy stage made them.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

from annotate import sound, subtitles
from annotate.audio_models import AudioTagger, SpeechRecognizer
from annotate.config import ConfigError, operational
from annotate.runner import Task, VideoStage, stage_main
from annotate.shot_frames import sample_shots
from annotate.turns import Turn, speaker_turns
from annotate.video import VideoError
from builder.errors import SkyscriptError
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter
from builder.video_files import SHOTS_FILE, source_video

LOG = logging.getLogger(__name__)


class SourceUnavailable(SkyscriptError):
    """``--strict``: a video's source could not be read, so its dialogue and music stay unknown."""


@dataclass
class DialogueConfig:
    """Settings of the dialogue stage."""

    subtitles: bool = True
    subtitle_fps: float = 4.0  # frames sampled per second of each shot for the subtitles
    subtitle_width: int = 960  # sampled frames are reduced to at most this width before OCR
    subtitle_max_samples: int = 100_000  # per shot
    speech: bool = True
    asr_model: str | None = None  # transformers ASR model (hub id or path); None: speech spans are not transcribed
    music_genre_model: str | None = None  # transformers audio-classification model for bgm.genre
    music_mood_model: str | None = None  # ... for bgm.mood
    bgm_window_s: float = 4.0  # a frame's bgm is decided by the sound windows within this many seconds of it
    music_min_share: float = 0.5  # share of those windows classified music from which bgm.present is true
    source_root: str | None = operational(None)  # where the source videos are; default: the shots files' root
    device: str = operational("auto")
    shard_max_count: int = operational(1000)


@dataclass
class Line:
    """One timed line of dialogue before it goes into the frames."""

    text: str
    start_s: float
    end_s: float
    source: str
    voice: str | None = None
    speaker: str | None = None

    def record(self) -> dict[str, Any]:
        return {"text": self.text, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "source": self.source, "speaker": self.speaker, "voice": self.voice}


def _snap(time_s: float, candidates: list[float], reach_s: float) -> float:
    """The candidate nearest ``time_s`` within ``reach_s``, else ``time_s``."""
    near = [c for c in candidates if abs(c - time_s) <= reach_s]
    return min(near, key=lambda c: abs(c - time_s)) if near else time_s


def reconcile(read: list[subtitles.SubtitleLine], turns: list[Turn], texts: list[str | None], counts: Counter,
              snap_s: float = 0.5) -> list[Line]:
    """Subtitle lines with the speech's timing where speech lies under them (each end moved to a speech turn's
    start or end within ``snap_s``: subtitle reads come every sampling interval, speech edges to 10 ms) and the
    voice that speaks most of them, and the transcribed turns no subtitle covers."""
    lines, covered = [], set()
    starts, ends = [t.start_s for t in turns], [t.end_s for t in turns]
    for sub in read:
        overlap = {i: min(t.end_s, sub.end_s) - max(t.start_s, sub.start_s) for i, t in enumerate(turns)}
        under = [i for i, o in overlap.items() if o > 0]
        if under:
            covered.update(under)
            start, end = _snap(sub.start_s, starts, snap_s), _snap(sub.end_s, ends, snap_s)
            voice = turns[max(under, key=overlap.get)].speaker
            lines.append(Line(sub.text, start, max(end, start), "subtitle+speech", voice))
        else:
            lines.append(Line(sub.text, sub.start_s, sub.end_s, "subtitle"))
    for i, (turn, text) in enumerate(zip(turns, texts)):
        if i in covered:
            continue
        if text:
            lines.append(Line(text, turn.start_s, turn.end_s, "speech", turn.speaker))
        else:
            counts["speech_turns_without_text"] += 1
    return sorted(lines, key=lambda line: (line.start_s, line.end_s))


def covering(frames: list[Sample], start_s: float, end_s: float) -> list[Sample]:
    """The keyframes whose time lies within a line."""
    return [f for f in frames if f.record.get("time_s") is not None and start_s <= f.record["time_s"] <= end_s]


def speaker_of(frames: list[Sample]) -> tuple[str | None, str | None]:
    """The one character in these keyframes, else None and why."""
    if not frames:
        return None, "no_keyframe"
    ids = {p["person_id"] for f in frames for p in f.record.get("people") or [] if p.get("person_id")}
    if len(ids) == 1:
        return ids.pop(), None
    return None, "no_person" if not ids else "several_people"


def shot_at(shots: list[dict], time_s: float) -> int | None:
    """The index of the shot that plays at ``time_s``."""
    for shot in shots:
        if shot.get("start_s") is not None and shot["start_s"] <= time_s < shot["end_s"]:
            return shot["index"]
    return None


class DialogueStage(VideoStage[DialogueConfig]):
    """Subtitles, speech and music of each video into its frames' dialogue, lines and bgm."""

    name = "dialogue"
    config_class = DialogueConfig

    def setup(self, device) -> None:
        c = self.config
        for name in ("subtitle_fps", "subtitle_width", "subtitle_max_samples", "bgm_window_s"):
            if not getattr(c, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(c, name)}")
        if not 0 < c.music_min_share <= 1:
            raise ConfigError(f"music_min_share must lie in (0, 1], got {c.music_min_share}")
        self.detector = subtitles.subtitle_detector() if c.subtitles else None
        self.asr = SpeechRecognizer(c.asr_model, c.device) if c.asr_model else None
        self.genre = AudioTagger(c.music_genre_model, "music_genre_model", c.device) if c.music_genre_model else None
        self.mood = AudioTagger(c.music_mood_model, "music_mood_model", c.device) if c.music_mood_model else None

    def version(self) -> str:
        models = [m for m in (self.config.asr_model, self.config.music_genre_model, self.config.music_mood_model) if m]
        return "+".join([self.code_version, *models])

    def run_video(self, task: Task, samples: list[Sample], writer: ShardWriter, quarantine: Quarantine) -> None:
        frames = [s for s in samples if s.kind == "frame"]
        shots_file = SHOTS_FILE.find(self.input_dir(task), task.name)
        relative = next(((f.record.get("source") or {}).get("path") for f in frames), None)
        path = source_video(shots_file, self.config.source_root, relative)
        try:
            if path is None or not path.exists():
                raise VideoError("source_missing", f"{path or 'no source path'}: not found; set source_root")
            counts: Counter = Counter()
            audio = sound.read_audio(path)
            spans = sound.speech_spans(audio) if audio is not None else []
            turns = speaker_turns(audio, spans) if audio is not None and self.config.speech else []
            lines = self.lines(path, shots_file, frames, audio, turns, counts)
            self.music(audio, spans, frames, counts)
        except VideoError as exc:
            writer.count("dialogue_not_measured")
            writer.count(f"dialogue_not_measured_{exc.reason}")
            message = f"{task.name}: dialogue and music not measured ({exc})"
            if self.strict:
                raise SourceUnavailable(message + "; fix source_root, or run without --strict to leave them empty")
            LOG.warning(message)
            for sample in samples:
                writer.write(sample)
            return
        self.place(lines, frames, (shots_file or {}).get("shots") or [], counts)
        for key, value in counts.items():
            writer.count(key, value)
        for sample in samples:
            if sample.kind == "frame":
                sample.record["provenance"] = [*sample.record.get("provenance", []), self.provenance(
                    model=self.asr.name if self.asr else "silero-vad-v6")]
            writer.write(sample)

    def lines(self, path, shots_file: dict | None, frames: list[Sample], audio: sound.Audio | None,
              turns: list[Turn], counts: Counter) -> list[Line]:
        """The video's timed lines: subtitles and speech, reconciled, with their speakers."""
        c = self.config
        read: list[subtitles.SubtitleLine] = []
        if self.detector is not None and shots_file:
            sampled = ((t, image) for shot in sample_shots(path, shots_file["shots"], shots_file["fps"],
                                                           c.subtitle_fps, c.subtitle_width, c.subtitle_max_samples)
                       for t, image in zip(shot.times, shot.frames))
            read, found = subtitles.read_subtitles(sampled, self.detector)
            counts.update(found)
        elif self.detector is not None:
            counts["subtitles_not_read_no_shots_file"] += 1
        texts = [self.asr.transcribe(audio.clip(t.start_s, t.end_s)) if self.asr else None for t in turns]
        counts["speech_turns"] += len(turns)
        lines = reconcile(read, turns, texts, counts)
        for line in lines:
            line.speaker, reason = speaker_of(covering(frames, line.start_s, line.end_s))
            counts["lines_assigned" if reason is None else f"lines_unassigned_{reason}"] += 1
            counts[f"lines_{line.source.replace('+', '_and_')}"] += 1
        return lines

    def place(self, lines: list[Line], frames: list[Sample], shots: list[dict], counts: Counter) -> None:
        """Each line into the dialogue of the keyframes it covers (else the nearest of its shot) and into its
        speaker's ``line`` there."""
        for frame in frames:
            frame.record["dialogue"] = []
        for line in lines:
            targets = covering(frames, line.start_s, line.end_s)
            if not targets:
                shot = shot_at(shots, line.start_s)
                same = [f for f in frames if f.record.get("shot_index") == shot and f.record.get("time_s") is not None]
                targets = [min(same, key=lambda f: abs(f.record["time_s"] - line.start_s))] if same else []
            if not targets:
                counts["lines_in_no_frame"] += 1
            for frame in targets:
                frame.record["dialogue"].append(line.record())
                for person in frame.record.get("people") or []:
                    if line.speaker and person.get("person_id") == line.speaker:
                        person["line"] = f"{person['line']} {line.text}" if person.get("line") else line.text

    def music(self, audio: sound.Audio | None, spans: list[tuple[float, float]], frames: list[Sample],
              counts: Counter) -> None:
        """Each frame's ``bgm`` from the sound windows around it (null without an audio track)."""
        if audio is None:
            counts["bgm_null_no_audio_stream"] += len(frames)
            for frame in frames:
                frame.record["bgm"] = None
            return
        windows = sound.classify_windows(audio, spans)
        counts.update(f"sound_windows_{w.kind}" for w in windows)
        runs = sound.music_tempo(audio, windows)
        labels: dict[tuple[float, float], tuple[str | None, str | None]] = {}
        reach = self.config.bgm_window_s
        for frame in frames:
            t = frame.record.get("time_s")
            if t is None:
                frame.record["bgm"] = None
                counts["bgm_null_no_time"] += 1
                continue
            near = [w for w in windows if w.end_s > t - reach and w.start_s < t + reach]
            present = bool(near) and sum(w.kind == "music" for w in near) / len(near) >= self.config.music_min_share
            run = next((r for r in runs if r[0] <= t < r[1]), None) if present else None
            if run is not None and run[:2] not in labels:
                clip = audio.clip(run[0], run[1])
                labels[run[:2]] = (self.genre.label(clip)[0] if self.genre else None,
                                   self.mood.label(clip)[0] if self.mood else None)
            genre, mood = labels.get(run[:2], (None, None)) if run else (None, None)
            tempo = run[2] if run else None
            frame.record["bgm"] = {"present": present, "genre": genre, "mood": mood,
                                   "tempo": None if tempo is None else round(tempo, 1), "tempo_text": None}
            counts["bgm_music" if present else "bgm_no_music"] += 1
            if present and self.genre is None:
                counts["bgm_genre_not_classified_no_model"] += 1
            if present and self.mood is None:
                counts["bgm_mood_not_classified_no_model"] += 1


def main(argv: list[str] | None = None) -> int:
    return stage_main(DialogueStage, argv)


if __name__ == "__main__":
    sys.exit(main())
