"""Camera vocabulary: the words of a shooting script that a plain script never has.

A restoration (``annotate.restore``) must read like the script a writer starts from, so shot sizes (``close-up``,
``wide shot``, ``SHOT 3``), camera angles (``high angle``, ``eye level``, ``bird's-eye view``), camera words
(``camera``, ``zoom lens``, ``zooms in``, ``dolly``, ``pans left``, ``rack focus``, ``in frame``) and the labels of the
paper's Table 1 layout (``CAMERA POSITION``, ``Highlight Score``, ``3D Location``, ``TIME: 5 seconds``) are
leaks, in English and in Chinese (``特写``, ``镜头``, ``俯拍``...). The lists are matched as whole words, case
insensitively; dialogue is exempt (a character may say "camera"). Everyday words that double as camera terms
without a qualifier (``shot``, ``two shots``, ``close up shop``, ``focus``, ``frame``, ``lens``, ``tracking``,
``9mm``, ``background``) are not flagged.
"""

from __future__ import annotations

import re

_SIZE = (r"(?:extreme|medium|big)\s+close[\s-]?ups?|close-ups?|closeups?|close\s+ups?\s+(?:of|on|shots?)|"
         r"(?:extreme\s+|medium\s+)?(?:wide|long|full)\s+shots?|medium\s+shots?|mid[\s-]shots?|two-shots?|"
         r"(?:establishing|master|insert|cutaway|reaction|tracking|aerial|drone|dolly|crane|pov|"
         r"point[\s-]of[\s-]view|over[\s-]the[\s-]shoulder|group|cowboy|overhead|static|handheld|reverse|"
         r"high[\s-]angle|low[\s-]angle|eye[\s-]level|dutch[\s-]angle|bird'?s[\s-]eye|worm'?s[\s-]eye)\s+shots?|"
         r"shot\s+(?:size|type|\d+)|ecu|mcu|mls|ews")
_ANGLE = (r"(?:high|low|dutch|canted|oblique|camera|tilted|overhead|reverse|wide|shooting)[\s-]angles?|"
          r"eye[\s-]level|bird'?s[\s-]eye(?:\s+view)?|worm'?s[\s-]eye(?:\s+view)?|top[\s-]down\s+view|"
          r"angle\s+on")
_CAMERA = (r"cameras?|camera\s*(?:work|man|men|operator)|(?:wide|long|telephoto|fisheye|macro|zoom|\d+\s?mm)"
           r"[\s-]lens(?:es)?|zoom(?:s|ed|ing)?\s+(?:in|out|into|on)|dolly(?:ing)?|dollies|steadicam|gimbal|"
           r"crane\s+(?:up|down)|pan(?:s|ned|ning)?\s+(?:left|right|across|up|down|over|to)|whip[\s-]pans?|"
           r"tilt(?:s|ed|ing)?\s+(?:up|down)|rack[\s-]focus|(?:shallow|deep|soft|sharp|pulls?)\s+focus|"
           r"(?:in|out\s+of)\s+focus|depth\s+of\s+field|focal\s+length|"
           r"(?:in|into|out\s+of|off|fills?|enters?|leaves?|exits?)\s+(?:the\s+)?frame|freeze[\s-]frame|"
           r"(?:on|off)[\s-]camera|pov|f/\d+(?:\.\d+)?")
_LABELS = (r"camera\s+(?:position|detail|movement)|highlight\s+score|3d\s+location|event\s+number|"
           r"time:\s*\d+(?:\.\d+)?\s*(?:s|sec|secs|seconds?)|\d+(?:\.\d+)?\s*seconds?\s+(?:shot|take)")
_CHINESE = ("特写", "大特写", "近景", "中景", "中近景", "远景", "全景", "大全景", "镜头", "机位", "景别", "运镜",
            "俯拍", "仰拍", "平拍", "俯视角", "仰视角", "推镜", "拉镜", "摇镜", "移镜", "跟拍", "航拍", "变焦",
            "焦距", "景深", "长焦", "广角", "手持拍摄", "画面左", "画面右")

CAMERA_PATTERN = re.compile(
    rf"(?<![\w-])(?:{_LABELS}|{_SIZE}|{_ANGLE}|{_CAMERA})(?![\w-])|{'|'.join(_CHINESE)}", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")
#: a camera phrase opening a sentence, with the words that tie it to what it shows ("A close-up of ...")
_LEAD = re.compile(
    rf"^\s*(?:(?:in|at|from|with)\s+)?(?:(?:an?|the|this)\s+)?(?:{_SIZE}|{_ANGLE}|cameras?(?:\s+\w+ly)?)\s*"
    r"(?:(?:of|on|showing|shows|reveals|captures|focuses\s+on|looks\s+at|from)\b\s*)?[,:;-]?\s*", re.IGNORECASE)


def camera_terms(text: str, exempt: list[str] = ()) -> list[str]:
    """The camera terms in ``text``, in order, outside the ``exempt`` passages (dialogue lines)."""
    for passage in sorted(exempt, key=len, reverse=True):
        if passage:
            text = text.replace(passage, " ")
    return [m.group(0) for m in CAMERA_PATTERN.finditer(text)]


def without_camera(text: str) -> tuple[str, int, int]:
    """``text`` with its camera details taken out: a sentence opened by a camera phrase loses the phrase ("A
    close-up of a man waits." -> "A man waits."), a sentence that still holds a camera term is left out. Returns
    the text, the phrases removed and the sentences left out."""
    kept, removed, dropped = [], 0, 0
    for sentence in (s for s in _SENTENCE.split(text.strip()) if s.strip()):
        if not CAMERA_PATTERN.search(sentence):
            kept.append(sentence.strip())
            continue
        rest = _LEAD.sub("", sentence, count=1).strip()
        if re.match(r"\w", rest) and rest != sentence.strip() and not CAMERA_PATTERN.search(rest):
            kept.append(rest[0].upper() + rest[1:])
            removed += 1
        else:
            dropped += 1
    return " ".join(kept), removed, dropped
