"""The official release format (the paper authors' sample-en.json) -> frame records."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from builder import official
from builder.aliases import (UnknownKeyError, canonical_key, normalize_attractiveness, normalize_shot_type,
                             normalize_vad_value, to_number)
from builder.official import OfficialFormatError, convert_case, import_official, iter_official
from builder.validation import schema_problems

#: /work/shared/data beside the checkout (the shared, read-only inputs)
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SAMPLE = SHARED_DATA / "official-sample-en.first5.json"
CASES = ["Case_1", "Case_2", "Case_3", "Case_4", "Case_5"]


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The five official cases as loaded JSON (fails, never skips, when the shared data is missing)."""
    assert SAMPLE.is_file(), f"shared sample data missing: {SAMPLE}"
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def records() -> dict[str, dict[str, Any]]:
    assert SAMPLE.is_file(), f"shared sample data missing: {SAMPLE}"
    return dict(iter_official(SAMPLE))


def case_with(raw: dict[str, Any], name: str = "Case_1") -> dict[str, Any]:
    """A deep copy of one case, to derive variants from."""
    return copy.deepcopy(raw[name])


def assert_valid(name: str, record: dict[str, Any]) -> None:
    assert schema_problems(name, record, "frame") == []


# --- the five shared cases, exact values ---

def test_cases_in_file_order(records):
    assert list(records) == CASES


def test_case_1(records):
    r = records["Case_1"]
    assert r["kind"] == "frame" and r["schema_version"] == "1.6" and r["video_id"] == "official"
    assert r["scene"] == {"number": 1, "name": "Quiet Western Restaurant", "int_ext": None, "time_of_day": None}
    assert r["bgm"] == {"present": True, "genre": "Pop", "mood": "Romantic", "tempo": None,
                        "tempo_text": "Slow Tempo"}
    assert r["description"].startswith("Indoors, likely a restaurant. The table is set with food and drinks")
    [p] = r["people"]
    assert p["vad"] == {"valence": 8, "arousal": 6, "dominance": 7}
    assert p["attractiveness"] == 4 and type(p["attractiveness"]) is int
    assert (p["shot_type"], p["layer"]) == ("medium", None)
    assert (p["age"], p["gender"], p["emotion"]) == ("adult", "male", "happy")
    assert p["actions"] == "sitting at the table, holding a glass of wine"
    assert p["temperament"] == "friendly and relaxed"
    assert p["looks"].startswith("The person has short black hair")
    assert p["line"].startswith("Yeah, it's so tiring to keep spending money.")
    assert [(o["name"], o["shot_type"], o["layer"]) for o in r["objects"]] == [
        ("table", "medium", None), ("food", "medium", None), ("glass of wine", "close_up", None)]
    assert r["objects"][2]["description"] == "A glass of white wine is being held by the person."


def test_case_2(records):
    r = records["Case_2"]
    [p] = r["people"]
    assert p["vad"] == {"valence": 3, "arousal": 5, "dominance": 4}
    assert p["emotion"] == "worried or concerned"
    assert [o["name"] for o in r["objects"]] == ["table", "wine glass", "dishes"]
    assert {o["shot_type"] for o in r["objects"]} == {"medium"}


def test_case_3_background_object(records):
    r = records["Case_3"]
    [p] = r["people"]
    assert (p["gender"], p["emotion"]) == ("female", "Regretful")
    assert p["vad"] == {"valence": 3, "arousal": 4, "dominance": 3}
    assert [(o["name"], o["shot_type"], o["layer"]) for o in r["objects"]] == [
        ("glass of wine", "medium", None), ("plate of food", "medium", None), ("table", "medium", None),
        ("chair", "medium", None), ("plants", None, "background")]


def test_case_4_foreground_and_background(records):
    r = records["Case_4"]
    assert r["people"][0]["vad"] == {"valence": 5, "arousal": 6, "dominance": 5}
    assert [(o["name"], o["shot_type"], o["layer"]) for o in r["objects"]] == [
        ("bottles", None, "background"), ("coat or jacket", None, "foreground")]


def test_case_5_string_numbers_and_two_people(records):
    """Case_5 gives V/A/D and Facial Attractiveness as strings ("6"), like the paper's Table 5."""
    r = records["Case_5"]
    assert r["bgm"] == {"present": True, "genre": "Electronic", "mood": "Cheerful", "tempo": None,
                        "tempo_text": "Medium Tempo"}
    first, second = r["people"]
    assert first["vad"] == {"valence": 6, "arousal": 7, "dominance": 6}
    assert second["vad"] == {"valence": 5, "arousal": 4, "dominance": 4}
    assert all(type(v) is int for p in (first, second) for v in p["vad"].values())
    assert (first["attractiveness"], second["attractiveness"]) == (4, 3)
    assert (first["gender"], second["gender"]) == ("female", "male")
    assert [(o["name"], o["layer"]) for o in r["objects"]] == [("bottles", "background"), ("glass", "foreground")]


def test_fields_the_format_lacks_stay_unknown(records):
    for r in records.values():
        for key in ("episode", "shot_index", "frame_index", "timestamp", "time_s", "width", "height", "source",
                    "sharpness", "privacy", "extraction", "review"):
            assert r[key] is None, key
        assert r["provenance"] == []
        assert (r["scene"]["int_ext"], r["scene"]["time_of_day"]) == (None, None)
        for p in r["people"]:
            for key in ("person_id", "bbox", "face", "depth_m", "pose", "location_3d"):
                assert p[key] is None, key
        for o in r["objects"]:
            assert (o["bbox"], o["score"], o["depth_m"]) == (None, None, None)


def test_every_record_is_a_valid_frame(records):
    assert len(records) == 5
    for name, record in records.items():
        assert_valid(name, record)


# --- variants derived from the shared cases ---

def test_paper_table_4_and_5_spelling(raw):
    """"Type" instead of "object" and numbers as strings, as in the paper's Tables 4 and 5."""
    case = case_with(raw)
    case["Scene"] = ["6", "Quiet Western Restaurant"]
    case["BGM"][0] = "False"
    person = case["people"][0]
    del person["object"]
    person["Type"] = "person"
    person["Continuous Emotion"] = {"Valence (V)": "4", "Arousal (A)": "6", "Dominance (D)": "7"}
    person["Facial Attractiveness"] = "3"
    person["Shot Type"] = "Full Shot"
    case["objects"] = [{"Type": "chair", "Description": "Wooden chair with a woven backrest",
                        "Shot Type": "Full Shot"},
                       {"Type": "cup", "Description": "Transparent glass cup filled with water",
                        "Shot Type": "Close-Up"}]
    r = convert_case("Table_5", case)
    assert r["scene"]["number"] == 6 and type(r["scene"]["number"]) is int
    assert r["bgm"]["present"] is False
    [p] = r["people"]
    assert p["vad"] == {"valence": 4, "arousal": 6, "dominance": 7}
    assert all(type(v) is int for v in p["vad"].values())
    assert p["attractiveness"] == 3 and type(p["attractiveness"]) is int
    assert (p["shot_type"], p["layer"]) == ("full", None)
    assert [(o["name"], o["shot_type"]) for o in r["objects"]] == [("chair", "full"), ("cup", "close_up")]
    assert_valid("Table_5", r)


def test_float_numbers(raw):
    case = case_with(raw)
    case["people"][0]["Continuous Emotion"] = {"Valence (V)": 6.5, "Arousal (A)": "2.5", "Dominance (D)": 7.0}
    case["people"][0]["Facial Attractiveness"] = 4.0
    p = convert_case("Case_1", case)["people"][0]
    assert p["vad"] == {"valence": 6.5, "arousal": 2.5, "dominance": 7}
    assert p["attractiveness"] == 4 and type(p["attractiveness"]) is int


@pytest.mark.parametrize("label, expected", [
    ("Close-up", ("close_up", None)), ("Close-Up", ("close_up", None)), ("close up", ("close_up", None)),
    ("CLOSE-UP SHOT", ("close_up", None)), ("Extreme Close-up", ("extreme_close_up", None)),
    ("extreme  close-up", ("extreme_close_up", None)), ("Medium Shot", ("medium", None)),
    ("medium_shot", ("medium", None)), ("Full Shot", ("full", None)), ("Wide Shot", ("wide", None)),
    ("Foreground", (None, "foreground")), (" Background ", (None, "background")), (None, (None, None)),
])
def test_shot_type_spellings(label, expected):
    assert normalize_shot_type(label) == expected


def test_background_person(raw):
    case = case_with(raw, "Case_4")
    case["people"][0]["Shot Type"] = "Background"
    r = convert_case("Case_4", case)
    assert (r["people"][0]["shot_type"], r["people"][0]["layer"]) == (None, "background")
    assert_valid("Case_4", r)


@pytest.mark.parametrize("key, field", [("Emotion", "emotion"), ("Continuous Emotion", "vad"),
                                        ("Actions", "actions"), ("Temperament", "temperament")])
@pytest.mark.parametrize("name", CASES)
def test_missing_person_fields_are_none(raw, name, key, field):
    case = case_with(raw, name)
    for person in case["people"]:
        del person[key]
    r = convert_case(name, case)
    assert all(p[field] is None for p in r["people"])
    assert all(p["age"] == "adult" for p in r["people"])
    assert_valid(name, r)


def test_missing_sections(raw):
    case = case_with(raw)
    for key in ("BGM", "people", "objects"):
        del case[key]
    case["Scene"] = None
    r = convert_case("Case_1", case)
    assert (r["scene"], r["bgm"], r["people"], r["objects"]) == (None, None, [], [])
    assert_valid("Case_1", r)


def test_missing_vad_item(raw):
    case = case_with(raw)
    del case["people"][0]["Continuous Emotion"]["Dominance (D)"]
    vad = convert_case("Case_1", case)["people"][0]["vad"]
    assert vad == {"valence": 8, "arousal": 6, "dominance": None}


def test_timestamp(raw):
    case = case_with(raw)
    case["Timestamp"] = "00:00:07:759"
    r = convert_case("Case_1", case)
    assert r["timestamp"] == "00:00:07:759" and r["time_s"] is None
    assert_valid("Case_1", r)
    case["Timestamp"] = "7.759 s"
    with pytest.raises(OfficialFormatError, match=r"Case_1: \$\.Timestamp: timestamp '7.759 s'"):
        convert_case("Case_1", case)


# --- errors ---

@pytest.mark.parametrize("where, path", [
    (lambda c: c, r"\$\.Mood"),
    (lambda c: c["people"][0], r"\$\.people\[0\]\.Mood"),
    (lambda c: c["objects"][2], r"\$\.objects\[2\]\.Mood"),
    (lambda c: c["people"][0]["Continuous Emotion"], r'\$\.people\[0\]\["Continuous Emotion"\]\.Mood'),
])
def test_unknown_key_is_named(raw, where, path):
    case = case_with(raw)
    where(case)["Mood"] = "tense"
    with pytest.raises(OfficialFormatError, match=rf"^Case_1: {path}: unknown key 'Mood'") as info:
        convert_case("Case_1", case)
    assert info.value.case == "Case_1"


@pytest.mark.parametrize("change, message", [
    (lambda c: c["objects"][0].update({"Shot Type": "Pan Shot"}), r"objects\[0\]\[\"Shot Type\"\]: unknown shot type"),
    (lambda c: c["people"][0]["Continuous Emotion"].update({"Valence (V)": "high"}), "not a number: 'high'"),
    (lambda c: c["people"][0]["Continuous Emotion"].update({"Arousal (A)": 0}), r"0 is outside 1\.\.9"),
    (lambda c: c["people"][0]["Continuous Emotion"].update({"Dominance (D)": True}), "not a number: True"),
    (lambda c: c["people"][0].update({"Facial Attractiveness": "4.5"}), "not an integer: '4.5'"),
    (lambda c: c["people"][0].update({"Facial Attractiveness": 6}), r"6 is outside 1\.\.5"),
    (lambda c: c["people"][0].update({"object": "dog"}), "type must be \"person\", got 'dog'"),
    (lambda c: c["people"][0].update({"Type": "person"}), "'Type' repeats 'object'"),
    (lambda c: c.update({"BGM": ["maybe", "Pop", "Romantic", "Slow"]}), "not a boolean: 'maybe'"),
    (lambda c: c.update({"Scene": ["1"]}), r"Scene \[number, name\] must be a list of 2 items"),
    (lambda c: c.update({"Scene": ["one", "x"]}), "not a number: 'one'"),
    (lambda c: c["objects"][0].pop("object"), r"objects\[0\]: an object needs a name"),
    (lambda c: c.update({"people": {"object": "person"}}), r"\$\.people: must be a list"),
    (lambda c: c["people"][0].update({"Looks": ["tall"]}), "expected text, got list"),
])
def test_bad_values_raise(raw, change, message):
    case = case_with(raw)
    change(case)
    with pytest.raises(OfficialFormatError, match=message):
        convert_case("Case_1", case)


def test_keys_are_strict_unless_lenient(raw):
    case = case_with(raw)
    person = case["people"][0]
    person["shot_type"] = person.pop("Shot Type")
    person["continuous_emotion"] = {"valence": 8, "AROUSAL (A)": 6, "D": 7}
    del person["Continuous Emotion"]
    case["scene description"] = case.pop("Scene Description")
    with pytest.raises(OfficialFormatError, match="unknown key 'shot_type'"):
        convert_case("Case_1", case)
    person["Character Name"] = "Lin Xia"
    r = convert_case("Case_1", case, lenient=True)
    assert r["people"][0]["vad"] == {"valence": 8, "arousal": 6, "dominance": 7}
    assert r["people"][0]["name"] == "Lin Xia"
    assert r["people"][0]["shot_type"] == "medium"
    assert r["description"].startswith("Indoors")


def test_canonical_key():
    assert canonical_key("frame", "Scene Description") == "description"
    assert canonical_key("person", "Facial Attractiveness") == "attractiveness"
    assert canonical_key("object", "Type") == "name"
    assert canonical_key("vad", "Valence (V)") == "valence"
    assert canonical_key("person", " shot_TYPE", lenient=True) == "shot_type"
    assert canonical_key("frame", "bgm", lenient=True) == "bgm"
    assert canonical_key("person", "Hair", lenient=True) is None
    assert canonical_key("person", "Name", lenient=True) == "name"  # a model's name for a person (not released)
    with pytest.raises(UnknownKeyError):
        canonical_key("person", "Name")
    with pytest.raises(UnknownKeyError, match=r"unknown key 'Hair' in \$\.people\[0\]\.Hair") as info:
        canonical_key("person", "Hair", where="$.people[0].Hair")
    assert (info.value.key, info.value.section) == ("Hair", "person")
    with pytest.raises(UnknownKeyError, match="unknown key 'scene'"):
        canonical_key("frame", "scene")


def test_number_normalizers():
    assert to_number("6") == 6 and type(to_number("6")) is int
    assert to_number(" 6.5 ") == 6.5 and to_number(7.0) == 7 and type(to_number(7.0)) is int
    assert normalize_vad_value("9") == 9 and normalize_vad_value(None) is None
    assert normalize_attractiveness("4") == 4 and normalize_attractiveness(4.0) == 4
    for bad in ("nan", "inf", "", True, [4]):
        with pytest.raises(ValueError):
            to_number(bad)


# --- the file and the JSONL output ---

def test_import_official_writes_jsonl(tmp_path, records):
    out = tmp_path / "nested" / "official.jsonl"
    assert import_official(SAMPLE, out) == 5
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [set(row) for row in rows] == [{"__key__", "json"}] * 5
    assert [row["__key__"] for row in rows] == CASES
    assert {row["__key__"]: row["json"] for row in rows} == records
    for row in rows:
        assert_valid(row["__key__"], row["json"])
    assert sorted(p.name for p in out.parent.iterdir()) == ["official.jsonl"]


def write_cases(path: Path, cases: dict[str, Any]) -> Path:
    path.write_text(json.dumps(cases), encoding="utf-8")
    return path


def test_import_failure_keeps_previous_output(tmp_path, raw):
    out = tmp_path / "official.jsonl"
    out.write_text("previous\n", encoding="utf-8")
    cases = copy.deepcopy(raw)
    cases["Case_4"]["objects"][1]["Shot Type"] = "Dutch Angle"
    source = write_cases(tmp_path / "in.json", cases)
    with pytest.raises(OfficialFormatError, match="^Case_4: .*unknown shot type 'Dutch Angle'"):
        import_official(source, out)
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "official.jsonl"]


def test_import_reports_schema_problem(tmp_path, raw, monkeypatch):
    convert = official.convert_case

    def broken(name, case, **kwargs):
        record = convert(name, case, **kwargs)
        if name == "Case_2":
            record["people"][0]["vad"]["valence"] = 12
        return record

    monkeypatch.setattr(official, "convert_case", broken)
    with pytest.raises(OfficialFormatError, match=r"^Case_2: \$\.people\[0\]\.vad\.valence: invalid frame record"):
        import_official(SAMPLE, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_case_names_must_be_sample_keys(tmp_path, raw):
    source = write_cases(tmp_path / "in.json", {"Case.1": raw["Case_1"]})
    with pytest.raises(OfficialFormatError, match=r"Case\.1: case name must match"):
        import_official(source, tmp_path / "out.jsonl")


def test_repeated_json_keys_raise(tmp_path):
    source = tmp_path / "in.json"
    source.write_text('{"Case_1": {"Scene": ["1", "a"], "Scene": ["2", "b"]}}', encoding="utf-8")
    with pytest.raises(OfficialFormatError, match="key 'Scene' appears twice"):
        list(iter_official(source))


def test_top_level_must_be_an_object(tmp_path):
    source = tmp_path / "in.json"
    source.write_text("[]", encoding="utf-8")
    with pytest.raises(OfficialFormatError, match="must be a JSON object of cases"):
        list(iter_official(source))
