"""The privacy stage: real faces and a drawn caption unreadable afterwards, the temporal fail-safe, the audit,
and no unpixelated frame ever published."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from factories import pair_record, shots_file_record
from PIL import Image, ImageDraw, ImageFont
from videos import read_frames, write_video

from annotate.faces import CenterFaceDetector, DlibDetector, HaarDetector
from annotate.privacy import PrivacyConfig, PrivacyStage, audit_regions, main, shrunk
from annotate.runner import run_stage
from annotate.texts import TextDetector
from builder.cli import main as skyscript
from builder.contract import blank
from builder.publish import PublishError, publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths
from skyscript_100m import SkyScript100M


def rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def center(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def inside(point, box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


@pytest.mark.slow
@pytest.mark.parametrize("independent", ["dlib", "haar"])
def test_real_faces_are_not_found_after_the_stage(music_privacy, independent):
    """Positive control on raw keyframes, then an independent detector on the output, at the real faces. The haar
    cascade (0.2 s a frame at 480 px, ten times dlib's) reads every second keyframe, dlib every one."""
    detector = DlibDetector(640) if independent == "dlib" else HaarDetector(480, min_neighbors=5)
    reference = CenterFaceDetector(0.5, 320)  # confirms that a raw detection is a face, not a false alarm
    samples = [s for p in shard_paths(music_privacy) for s in iter_shard(p)]
    assert len(samples) >= 400
    had, still = 0, []
    for sample in samples[::2] if independent == "haar" else samples:
        raw = rgb(sample.members["raw.jpg"])
        faces = [r for r, _ in reference.detect(raw)]
        if not faces:  # nothing a detection could be confirmed by (and the slow haar cascade need not run)
            continue
        confirmed = [b for b, _ in detector.detect(raw)
                     if any(inside(center(b), r) or inside(center(r), b) for r in faces)]
        if not confirmed:
            continue
        had += 1
        found = detector.detect(rgb(sample.members["jpg"]))
        if any(inside(center(b), face) for b, _ in found for face in confirmed):
            still.append(sample.key)
    assert had >= (100 if independent == "dlib" else 50), f"positive control: {independent} found real faces on " \
                                                           f"only {had} raw frames"
    assert 1 - len(still) / had >= 0.98, (had, still)


@pytest.mark.slow
def test_no_text_is_readable_after_the_stage(music_privacy):
    text = TextDetector()
    samples = [s for p in shard_paths(music_privacy) for s in iter_shard(p)]
    assert len(samples) >= 400 and not [s.key for s in samples if text.readable(rgb(s.members["jpg"]))]


@pytest.mark.slow
def test_stage_records_and_counts(music_privacy, music_keyframes):
    samples = [s for p in shard_paths(music_privacy) for s in iter_shard(p)]
    stats = json.loads((music_privacy / "privacy.stats.json").read_text())
    counts = stats["counts"]
    assert counts["frames"] == len(samples) and counts["faces_on_keyframe"] >= 300
    assert counts["faces_on_neighbours_only"] > 0  # the temporal fail-safe adds faces
    assert stats["written"] + counts.get("frames_quarantined", 0) == len(list(
        s for p in shard_paths(music_keyframes) for s in iter_shard(p)))
    for sample in samples:
        privacy = sample.record["privacy"]
        assert set(sample.members) == {"raw.jpg", "jpg"} and privacy["audit"]["passed"] is True
        assert privacy["detectors"] == ["centerface@0.2", "rapidocr-ppocrv4"]
        assert [p["stage"] for p in sample.record["provenance"]] == ["keyframes", "privacy"]
    assert (music_privacy / "shots" / "transnetv2-test.json").exists()


def caption_shard(folder, image: Image.Image, key: str = "clip_0000_0000000") -> None:
    record = blank("frame")
    record.update(video_id="clip", shot_index=0, frame_index=0, width=image.width, height=image.height,
                  source={"path": "clip.mp4", "width": image.width, "height": image.height, "fps": 25.0},
                  provenance=[{"stage": "keyframes", "model": None, "revision": None, "prompt_sha": None,
                               "settings_sha": None}])
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    with ShardWriter(folder, "keyframes-clip", Quarantine(folder / "q.jsonl", "t")) as writer:
        writer.write(Sample(key, record, {"raw.jpg": buffer.getvalue()}))
        writer.write(Sample("pair0", pair_record(0)))


def draw_caption(image: Image.Image, text: str, xy: tuple[int, int]) -> None:
    font = ImageFont.load_default(size=44)
    ImageDraw.Draw(image).text(xy, text, fill="white", font=font, stroke_width=3, stroke_fill="black")


def test_drawn_name_caption_is_unreadable_afterwards(shared_data, tmp_path):
    [frame] = read_frames(shared_data / "bigbuckbunny.mp4", 60, 60, size=(1280, 720))
    image = Image.fromarray(frame)
    draw_caption(image, "LIN XIA  CEO of Gu Group", (120, 600))
    ocr = TextDetector()
    assert any("LIN XIA" in t for _, t, _ in ocr._run(np.asarray(image), read=True))  # readable before
    caption_shard(tmp_path / "in", image)
    assert main([str(tmp_path / "in"), str(tmp_path / "out"), "--set", "temporal_radius=0", "--no-progress"]) == 0
    frames = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p) if s.kind == "frame"]
    [sample] = frames
    read = " ".join(t for _, t, _ in ocr._run(rgb(sample.members["jpg"]), read=True))
    assert "LIN" not in read and "XIA" not in read and "Group" not in read, read
    assert sample.record["privacy"]["texts"] and "LIN" not in json.dumps(sample.record)  # boxes, never text
    pairs = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p) if s.kind == "pair"]
    assert [p.record for p in pairs] == [pair_record(0)]  # other kinds pass through unchanged


def test_audit_reads_a_caption_a_fine_mosaic_left_and_escalates(shared_data, tmp_path):
    """Text cells so small the caption stays readable: the audit's recogniser reads the region, it is pixelated
    again, and afterwards OCR of the whole frame reads none of it."""
    [frame] = read_frames(shared_data / "bigbuckbunny.mp4", 60, 60, size=(1280, 720))
    image = Image.fromarray(frame)
    draw_caption(image, "LIN XIA  CEO of Gu Group", (120, 600))
    caption_shard(tmp_path / "in", image)
    run_stage(PrivacyStage(PrivacyConfig(temporal_radius=0, text_blocks=60)), tmp_path / "in", tmp_path / "out",
              progress=False)
    [sample] = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p) if s.kind == "frame"]
    audit = sample.record["privacy"]["audit"]
    assert audit["passed"] is True and audit["rounds"] >= 1
    read = " ".join(t for _, t, _ in TextDetector()._run(rgb(sample.members["jpg"]), read=True))
    assert "LIN" not in read and "XIA" not in read and "Group" not in read, read


def test_names_option_keeps_other_text(shared_data, tmp_path):
    [frame] = read_frames(shared_data / "bigbuckbunny.mp4", 60, 60, size=(1280, 720))
    image = Image.fromarray(frame)
    draw_caption(image, "LIN XIA", (120, 600))
    draw_caption(image, "EPISODE 12", (700, 80))
    caption_shard(tmp_path / "in", image)
    assert main([str(tmp_path / "in"), str(tmp_path / "out"), "--set", "temporal_radius=0", "--set",
                 "text_names=Lin Xia,Gu Chen", "--no-progress"]) == 0
    [sample] = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p) if s.kind == "frame"]
    read = " ".join(t for _, t, _ in TextDetector()._run(rgb(sample.members["jpg"]), read=True))
    assert "EPISODE" in read and "LIN" not in read, read
    assert len(sample.record["privacy"]["texts"]) == 1


def blurred_keyframe_video(shared_data, folder, size: tuple[int, int] = (160, 90)):
    """A close-up (the music video's frames, enlarged to ``size``) whose middle frame has the face smeared: missed
    there, found one frame away."""
    frames = read_frames(shared_data / "transnetv2-test.mp4", 1740, 1760, size=size)
    smeared = Image.fromarray(frames[10]).resize((8, 5), Image.Resampling.BOX).resize(size)
    frames[10] = np.asarray(smeared)
    folder.mkdir()
    write_video(folder / "clip.mp4", frames)
    shots = shots_file_record("clip", shots=1, frames_per_shot=21, width=size[0], height=size[1], root=str(folder))
    (folder / "keyframes" / "shots").mkdir(parents=True)
    (folder / "keyframes" / "shots" / "clip.json").write_text(json.dumps(shots))
    record = blank("frame")
    record.update(video_id="clip", shot_index=0, frame_index=10, width=size[0], height=size[1],
                  source={"path": "clip.mp4", "width": size[0], "height": size[1], "fps": 25.0})
    buffer = io.BytesIO()
    smeared.save(buffer, format="JPEG")
    with ShardWriter(folder / "keyframes", "keyframes-clip", Quarantine(folder / "q.jsonl", "t")) as writer:
        writer.write(Sample("clip_0000_0000010", record, {"raw.jpg": buffer.getvalue()}))
    return folder / "keyframes"


def test_temporal_fail_safe_covers_a_face_missed_on_the_keyframe(shared_data, tmp_path):
    keyframes = blurred_keyframe_video(shared_data, tmp_path / "v")
    run_stage(PrivacyStage(PrivacyConfig(temporal_radius=0)), keyframes, tmp_path / "alone", progress=False)
    run_stage(PrivacyStage(PrivacyConfig(temporal_radius=2)), keyframes, tmp_path / "with", progress=False)
    [alone] = [s for p in shard_paths(tmp_path / "alone") for s in iter_shard(p)]
    [helped] = [s for p in shard_paths(tmp_path / "with") for s in iter_shard(p)]
    assert alone.record["privacy"]["faces"] == []
    assert helped.record["privacy"]["faces"], "a face one frame away must be pixelated on the keyframe"
    counts = json.loads((tmp_path / "with" / "privacy.stats.json").read_text())["counts"]
    assert counts["faces_on_neighbours_only"] >= 1
    face = [round(v) for v in helped.record["privacy"]["faces"][0]["bbox"]]
    before, after = rgb(helped.members["raw.jpg"]), rgb(helped.members["jpg"])
    assert np.abs(before[face[1]:face[3], face[0]:face[2]].astype(int) - after[face[1]:face[3], face[0]:face[2]]).mean() > 1


def test_neighbours_are_searched_shrunk_in_one_batch_in_keyframe_pixels(shared_data, tmp_path, monkeypatch):
    """``temporal_max_side``: the neighbours of a 640x360 keyframe are decoded and searched at 320x180, all four
    in one call, and the face found there lands where the search at full size puts it."""
    keyframes = blurred_keyframe_video(shared_data, tmp_path / "v", size=(640, 360))
    searched = []
    detect_neighbours = PrivacyStage.detect_neighbours
    monkeypatch.setattr(PrivacyStage, "detect_neighbours", lambda self, images, size: searched.append(
        [i.shape for i in images]) or detect_neighbours(self, images, size))
    boxes = {}
    for side in (320, 0):
        out = tmp_path / f"out{side}"
        run_stage(PrivacyStage(PrivacyConfig(temporal_max_side=side)), keyframes, out, progress=False)
        [sample] = [s for p in shard_paths(out) for s in iter_shard(p)]
        boxes[side] = [f["bbox"] for f in sample.record["privacy"]["faces"] if f["origin"] == "neighbour"]
    assert searched == [[(180, 320, 3)] * 4, [(360, 640, 3)] * 4]
    assert boxes[320] and boxes[0]
    for box in boxes[320]:  # each face of the shrunk search is one of the full search's, in 640x360 pixels
        assert any(abs(center(box)[0] - center(b)[0]) < 0.1 * (b[2] - b[0]) and
                   abs(center(box)[1] - center(b)[1]) < 0.1 * (b[3] - b[1]) for b in boxes[0]), (box, boxes[0])


def test_shrunk_never_enlarges():
    assert shrunk(1280, 720, 640) == (640, 360) and shrunk(1920, 1080, 640) == (640, 360)
    assert shrunk(160, 90, 640) == (160, 90) and shrunk(1280, 720, 0) == (1280, 720)


def test_audit_regions_surround_what_was_pixelated():
    assert audit_regions([], 0.25, 1.0, 1280, 720) == []  # nothing pixelated: the output is the keyframe
    [region] = audit_regions([[100, 100, 140, 180]], 0.25, 1.0, 1280, 720)
    assert region == (29, 0, 212, 322)  # pixelated as (90, 80, 151, 201), grown by its size, clipped at the top
    [tiny] = audit_regions([[600, 300, 604, 304]], 0.0, 1.0, 1280, 720)
    assert tiny[2] - tiny[0] >= 64 and tiny[3] - tiny[1] >= 64
    [merged] = audit_regions([[100, 100, 140, 180], [200, 150, 240, 230]], 0.25, 1.0, 1280, 720)
    assert merged == (29, 0, 312, 372)
    assert len(audit_regions([[100, 100, 140, 180], [900, 400, 940, 480]], 0.25, 1.0, 1280, 720)) == 2
    assert audit_regions([[100, 100, 700, 500]], 0.25, 1.0, 1280, 720) == [(0, 0, 1280, 720)]  # most of the frame


def test_audit_of_a_region_finds_a_face_a_fine_mosaic_left_as_a_whole_frame_search_would(shared_data, tmp_path):
    """A face on part of a 720p frame with a mosaic too fine to hide it: the audit, searching around the face
    only, finds it and escalates; afterwards a search of the whole frame finds nothing there either."""
    [background] = read_frames(shared_data / "bigbuckbunny.mp4", 60, 60, size=(1280, 720))
    [face] = read_frames(shared_data / "transnetv2-test.mp4", 1750, 1750, size=(320, 180))
    image = background.copy()
    image[400:580, 800:1120] = face
    caption_shard(tmp_path / "in", Image.fromarray(image))
    config = PrivacyConfig(temporal_radius=0, texts=False, face_blocks=200, face_threshold=0.3)
    run_stage(PrivacyStage(config), tmp_path / "in", tmp_path / "out", progress=False)
    [sample] = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p) if s.kind == "frame"]
    privacy = sample.record["privacy"]
    assert privacy["audit"]["passed"] is True and privacy["audit"]["rounds"] >= 1
    found = [f["bbox"] for f in privacy["faces"]]
    assert any(inside(center(b), [800, 400, 1120, 580]) for b in found)
    regions = audit_regions(found, config.margin, config.audit_context, 1280, 720)
    assert regions and all((r[2] - r[0]) * (r[3] - r[1]) < 0.5 * 1280 * 720 for r in regions)  # not the frame
    detector = CenterFaceDetector(0.3, 320)
    assert any(inside(center(b), [800, 400, 1120, 580]) for b, _ in detector.detect(rgb(sample.members["raw.jpg"])))
    assert not [b for b, _ in detector.detect(rgb(sample.members["jpg"])) if inside(center(b), [800, 400, 1120, 580])]


def test_missing_source_fails_closed_counted_and_strict_refuses(shared_data, tmp_path, caplog):
    keyframes = blurred_keyframe_video(shared_data, tmp_path / "v")
    (tmp_path / "v" / "clip.mp4").unlink()
    summary = run_stage(PrivacyStage(PrivacyConfig()), keyframes, tmp_path / "out", progress=False)
    assert summary.written == 1 and summary.failed == 0
    [warning] = [r for r in caplog.records if r.name == "annotate.privacy"]  # a warning through logging, once
    assert warning.levelname == "WARNING" and "temporal fail-safe skipped (source_missing" in warning.getMessage()
    [sample] = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p)]
    assert sample.record["privacy"]["temporal"] == {"status": "skipped", "reason": "source_missing"}
    counts = json.loads((tmp_path / "out" / "privacy.stats.json").read_text())["counts"]
    assert counts["frames_temporal_skipped"] == counts["frames_temporal_skipped_source_missing"] == 1
    publish(tmp_path / "out", tmp_path / "ds", progress=False)
    assert "1 frame(s) were pixelated without the temporal search" in (tmp_path / "ds" / "README.md").read_text()
    # --strict: the task fails (and is retried once the source is back), nothing is written
    assert main([str(keyframes), str(tmp_path / "strict"), "--strict", "--no-progress"]) == 1
    assert not shard_paths(tmp_path / "strict")
    assert "temporal fail-safe skipped (source_missing" in (tmp_path / "strict" / "quarantine.jsonl").read_text()


def test_a_moved_source_folder_is_found_with_source_root(shared_data, tmp_path):
    keyframes = blurred_keyframe_video(shared_data, tmp_path / "v")
    (tmp_path / "moved").mkdir()
    (tmp_path / "v" / "clip.mp4").rename(tmp_path / "moved" / "clip.mp4")  # the shots file still says v/
    assert main([str(keyframes), str(tmp_path / "out"), "--set", f"source_root={tmp_path / 'moved'}",
                 "--no-progress"]) == 0
    [sample] = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p)]
    privacy = sample.record["privacy"]
    assert privacy["temporal"] == {"status": "searched", "reason": None}
    assert [f["origin"] for f in privacy["faces"]] and {f["origin"] for f in privacy["faces"]} == {"neighbour"}


def test_audit_escalates_until_the_face_is_gone(shared_data, tmp_path):
    """A mosaic too fine to hide the face: the audit's rounds make it coarser, then flat, and the frame passes."""
    [frame] = read_frames(shared_data / "transnetv2-test.mp4", 1750, 1750)
    caption_shard(tmp_path / "in", Image.fromarray(frame))
    config = PrivacyConfig(temporal_radius=0, face_blocks=200, audit_rounds=2, face_threshold=0.3)
    run_stage(PrivacyStage(config), tmp_path / "in", tmp_path / "out", progress=False)
    [sample] = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p) if s.kind == "frame"]
    audit = sample.record["privacy"]["audit"]
    assert audit["passed"] is True and audit["rounds"] >= 1
    counts = json.loads((tmp_path / "out" / "privacy.stats.json").read_text())["counts"]
    assert counts["frames_repixelated"] == 1 and counts[f"frames_passed_after_round_{audit['rounds']}"] == 1
    assert not CenterFaceDetector(0.3, 320).detect(rgb(sample.members["jpg"]))  # what the audit checked
    assert CenterFaceDetector(0.3, 320).detect(rgb(sample.members["raw.jpg"]))  # and there was a face


def test_audit_failure_quarantines_the_frame(shared_data, tmp_path):
    """A mosaic too fine to hide the face, and no round to make it coarser: the audit refuses the frame."""
    [frame] = read_frames(shared_data / "transnetv2-test.mp4", 1750, 1750)
    caption_shard(tmp_path / "in", Image.fromarray(frame))
    config = PrivacyConfig(temporal_radius=0, face_blocks=200, audit_rounds=0, face_threshold=0.3)
    run_stage(PrivacyStage(config), tmp_path / "in", tmp_path / "out", progress=False)
    lines = [json.loads(l) for l in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
    assert [(l["key"], l["reason"]) for l in lines] == [("clip_0000_0000000", "audit_failed")]
    assert not [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p) if s.kind == "frame"]


def test_frames_that_skipped_privacy_are_refused_everywhere(shared_data, tmp_path, capsys):
    [frame] = read_frames(shared_data / "bigbuckbunny.mp4", 0, 0, size=(320, 180))
    caption_shard(tmp_path / "keyframes", Image.fromarray(frame))
    # the keyframes stage's output (raw.jpg only) cannot be published
    with pytest.raises(PublishError, match="missing member 'jpg'"):
        publish(tmp_path / "keyframes", tmp_path / "ds", progress=False)
    # nor can a frame that carries a jpg but no privacy record
    [sample, pair] = [s for p in shard_paths(tmp_path / "keyframes") for s in iter_shard(p)]
    sample.members["jpg"] = sample.members.pop("raw.jpg")
    with ShardWriter(tmp_path / "forged", "x", Quarantine(tmp_path / "q.jsonl", "t")) as writer:
        writer.write(sample)
    with pytest.raises(PublishError, match="did not pass the privacy stage"):
        publish(tmp_path / "forged", tmp_path / "ds", progress=False)
    assert not (tmp_path / "ds").exists()
    # a dataset folder assembled by hand: validate fails and the loader refuses the row
    (tmp_path / "hand" / "frames").mkdir(parents=True)
    (tmp_path / "forged" / "x-000000.tar").rename(tmp_path / "hand" / "frames" / "frames-000000.tar")
    (tmp_path / "hand" / "README.md").write_text("---\n---\n")
    assert skyscript(["validate", str(tmp_path / "hand")]) == 1
    assert "did not pass the privacy stage" in capsys.readouterr().out
    with pytest.raises(ValueError, match="did not pass the privacy stage"):
        list(SkyScript100M(config_name="frames", data_dir=str(tmp_path / "hand")).as_streaming_dataset(split="train"))


def test_a_jpg_that_is_not_the_stages_image_is_refused_everywhere(shared_data, tmp_path, capsys):
    """The record says "privacy passed" but the jpg was swapped for the raw image: the sha256 gives it away."""
    [frame] = read_frames(shared_data / "bigbuckbunny.mp4", 0, 0, size=(320, 180))
    caption_shard(tmp_path / "keyframes", Image.fromarray(frame))
    assert main([str(tmp_path / "keyframes"), str(tmp_path / "privacy"), "--set", "temporal_radius=0",
                 "--no-progress"]) == 0
    samples = [s for p in shard_paths(tmp_path / "privacy") for s in iter_shard(p)]
    publish(tmp_path / "privacy", tmp_path / "ds", progress=False)  # the honest output publishes
    frame_sample = next(s for s in samples if s.kind == "frame")
    assert frame_sample.record["privacy"]["jpg_sha256"] == hashlib.sha256(frame_sample.members["jpg"]).hexdigest()
    frame_sample.members["jpg"] = frame_sample.members["raw.jpg"]  # same size, faces and text visible
    with ShardWriter(tmp_path / "swapped", "privacy-clip", Quarantine(tmp_path / "q.jsonl", "t"),
                     check=lambda sample: []) as writer:  # written past the writer's own check, as by hand
        for sample in samples:
            writer.write(sample)
    with pytest.raises(PublishError, match="not the image the privacy stage wrote"):
        publish(tmp_path / "swapped", tmp_path / "ds2", progress=False)
    assert skyscript(["validate", str(tmp_path / "swapped")]) == 1
    assert "sha256 differs" in capsys.readouterr().out
    # a published folder whose jpg was swapped afterwards: validate and the builder class refuse it
    config_dir = tmp_path / "ds" / "frames"
    [published] = list(config_dir.glob("*.tar"))
    rows = list(iter_shard(published))
    rows[0].members["jpg"] = frame_sample.members["raw.jpg"]
    published.unlink()
    with ShardWriter(config_dir, "frames", Quarantine(tmp_path / "q2.jsonl", "t"), check=lambda sample: []) as writer:
        for row in rows:
            writer.write(row)
    assert skyscript(["validate", str(tmp_path / "ds")]) == 1
    assert "sha256 differs" in capsys.readouterr().out
    with pytest.raises(ValueError, match="not the image the privacy stage wrote"):
        list(SkyScript100M(config_name="frames", data_dir=str(tmp_path / "ds")).as_streaming_dataset(split="train"))
