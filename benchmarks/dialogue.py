"""The dialogue stage's cost per minute of video, beside the keyframes stage's on the same video (the baseline),
and how it splits: subtitles (frames sampled through the shots and OCR of their band), reading the audio, voice
activity, the sound windows and the tempo.

For each video: the keyframes stage with its defaults, then the dialogue stage straight on its output, timed
whole; then each part alone on the same video. Run: ``.venv/bin/python benchmarks/dialogue.py [VIDEO ...]``
(default: the bundled clip, and the music video when ``../shared/data`` is there).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, figure, sample_videos

sys.path[:0] = [str(REPO)]

from annotate import sound, subtitles  # noqa: E402
from annotate.dialogue import DialogueConfig, DialogueStage  # noqa: E402
from annotate.keyframes import KeyframesConfig, KeyframesStage  # noqa: E402
from annotate.runner import run_stage  # noqa: E402
from annotate.shot_frames import sample_shots  # noqa: E402
from builder.video_files import SHOTS_FILE  # noqa: E402


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    args = parser.parse_args()
    print(f"{'video':<22} {'minutes':>8} {'keyframes s/min':>16} {'dialogue s/min':>15} {'subtitles':>10} "
          f"{'audio':>6} {'VAD':>6} {'windows':>8} {'tempo':>6}")
    config = DialogueConfig()
    sound.tempo_bpm(sound.read_audio(sample_videos([])[0]).samples, sound.SAMPLE_RATE)  # numba's first compile
    for video in sample_videos(args.videos):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            _, keyframes = timed(lambda: run_stage(KeyframesStage(KeyframesConfig()), video, tmp / "keyframes",
                                                   progress=False))
            _, dialogue = timed(lambda: run_stage(DialogueStage(config), tmp / "keyframes", tmp / "dialogue",
                                                  progress=False))
            shots = SHOTS_FILE.find(tmp / "keyframes", next((tmp / "keyframes" / "shots").glob("*.json")).stem)
            minutes = shots["duration_s"] / 60
            detector = subtitles.subtitle_detector()
            _, read = timed(lambda: subtitles.read_subtitles(
                ((t, f) for s in sample_shots(video, shots["shots"], shots["fps"], config.subtitle_fps,
                                              config.subtitle_width, config.subtitle_max_samples)
                 for t, f in zip(s.times, s.frames)), detector))
            audio, reading = timed(lambda: sound.read_audio(video))
            spans, vad = timed(lambda: sound.speech_spans(audio))
            windows, classify = timed(lambda: sound.classify_windows(audio, spans))
            _, tempo = timed(lambda: sound.music_tempo(audio, windows))
        parts = [p / minutes for p in (read, reading, vad, classify, tempo)]
        print(f"{video.name:<22} {minutes:>8.2f} {keyframes / minutes:>16.1f} {dialogue / minutes:>15.1f} "
              + " ".join(f"{p:>{w}.1f}" for p, w in zip(parts, (10, 6, 6, 8, 6))))
        figure("dialogue", f"dialogue stage, {video.name}", dialogue / minutes, "s/min of video",
               "keyframes stage", keyframes / minutes, better="lower")
        figure("dialogue", f"subtitles part alone, {video.name}", read / minutes, "s/min of video", better="lower")
    print("(parts in seconds per minute of video)")


if __name__ == "__main__":
    main()
