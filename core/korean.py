"""Korean particles chosen for the word they follow.

A Korean particle depends on the last sound of the word before it: 이/가, 을/를, 은/는,
과/와 take the first form after a final consonant (받침) and the second after a vowel;
(으)로 is 으로 after a final consonant other than ㄹ and 로 otherwise. The catalogue
writes such a particle as the pair, "“%(gate)s”이(가)", because the word is only known
once the text is filled in: `particles(text)` then replaces every pair by the form that
fits the word before it ("“계약 테스트”가", "API를", "1.0.0은", "pm이").

How a word ends (`final`):

- Hangul: its last syllable's final consonant.
- Digits, as Korean reads them: a whole number by its last place (1 일, 2 이, 10 십,
  100 백, 1000 천, 10000 만, 0 영), a part after a dot digit by digit (1.10 "일 점 일영"),
  so "1.0.0은", "1250은", "2.4.1로".
- Latin letters: an acronym (capitals, or letters without a vowel: API, QA, pm) by the
  name of its last letter (에이, 아이, 엠: only L, M, N, R end in a consonant); a word by
  how Korean writes it: -m, -n, -ng, -l, -le, -me, -ne and a short -p, -t, -k, -b, -ck
  end in a consonant (admin 어드민, mobile 모바일, Slack 슬랙, web 웹), anything else
  in a vowel (backend 백엔드, tests 테스츠, user 유저, Go 고, GitHub 깃허브).
- Closing quotes and brackets are skipped: the word inside them counts.

When the end cannot be read (an emoji, a symbol), the pair is left as written, which is
what the catalogue said before. The pairs are only ever in the Korean catalogue, so text
in another language passes through unchanged.
"""

from __future__ import annotations

import html
import re

from django import template
from django.utils.safestring import SafeData, mark_safe

register = template.Library()

RIEUL = "ㄹ"
# The written pair → (after a final consonant, after a vowel).
PAIRS: dict[str, tuple[str, str]] = {
    "이(가)": ("이", "가"),
    "가(이)": ("이", "가"),
    "을(를)": ("을", "를"),
    "를(을)": ("을", "를"),
    "은(는)": ("은", "는"),
    "는(은)": ("은", "는"),
    "과(와)": ("과", "와"),
    "와(과)": ("과", "와"),
    "(으)로": ("으로", "로"),
}
_PAIR = re.compile("|".join(re.escape(p) for p in PAIRS))
_CLOSERS = "”’\"')]}」』》〉>»"  # noqa: RUF001 (closing quotes, as typed)
_JONG = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
# Sino-Korean digits and places: the final consonant of 일, 이, 삼 … and of 십, 백, 천, 만 ….
_DIGIT = {
    "0": "ㅇ",
    "1": RIEUL,
    "2": "",
    "3": "ㅁ",
    "4": "",
    "5": "",
    "6": "ㄱ",
    "7": RIEUL,
    "8": RIEUL,
    "9": "",
}
_PLACE = {1: "ㅂ", 2: "ㄱ", 3: "ㄴ"}  # 십 백 천
_MYRIAD = {1: "ㄴ", 2: "ㄱ", 3: "", 4: "ㅇ"}  # 만 억 조 경
# Letter names: 엘, 엠, 엔, 알 end in a consonant; 에이, 비, 씨 … do not.
_LETTER = {"l": RIEUL, "m": "ㅁ", "n": "ㄴ", "r": RIEUL}
_VOWELS = set("aeiouy")
# Words Korean writes otherwise than the rules below guess.
_WORDS = {"hub": ""}  # 허브 (GitHub 깃허브)
_SYMBOLS = {"%": ""}  # 퍼센트


def _hangul_final(ch: str) -> str | None:
    code = ord(ch) - 0xAC00
    if 0 <= code < 11172:
        jong = code % 28
        return _JONG[jong - 1] if jong else ""
    return None


def _number_final(digits: str, after_dot: bool) -> str:
    if after_dot or set(digits) == {"0"}:
        return _DIGIT[digits[-1]]
    zeros = len(digits) - len(digits.rstrip("0"))
    if zeros == 0:
        return _DIGIT[digits[-1]]
    if zeros % 4:
        return _PLACE[zeros % 4]
    return _MYRIAD.get(zeros // 4, "")


def _word_final(word: str) -> str:
    w = word.lower()
    for suffix, final in _WORDS.items():
        if w.endswith(suffix):
            return final
    if word.isupper() or not _VOWELS & set(w):  # an acronym: the last letter's name
        return _LETTER.get(w[-1], "")
    if w.endswith("ng"):
        return "ㅇ"
    if w.endswith(("le", "l")):
        return RIEUL
    if w.endswith(("m", "me")):
        return "ㅁ"
    if w.endswith(("n", "ne")):
        return "ㄴ"
    if w.endswith("ck"):
        return "ㄱ"
    if len(w) >= 2 and w[-1] == w[-2]:
        w = w[:-1]  # app → ap, Scott → Scot
    if w[-1] in "ptkb" and len(w) >= 2 and w[-2] in "aeiou" and (len(w) < 3 or w[-3] not in _VOWELS):
        return {"p": "ㅂ", "t": "ㅅ", "k": "ㄱ", "b": "ㅂ"}[w[-1]]  # 앱, 챗, 슬랙, 웹
    return ""


def final(text: str) -> str | None:
    """The final consonant the end of `text` is read with: a jamo (ㄹ, ㄴ…), "" for none
    (it ends in a vowel), None when it cannot be read."""
    text = text.rstrip()
    if text.endswith(";"):  # an HTML entity, as in escaped template output
        entity = re.search(r"&#?\w+;$", text)
        if entity:
            text = text[: entity.start()] + html.unescape(entity.group())
    text = text.rstrip(_CLOSERS).rstrip()
    if not text:
        return None
    last = text[-1]
    hangul = _hangul_final(last)
    if hangul is not None:
        return hangul
    if last.isdigit() and last.isascii():
        number = re.search(r"(\.?)(\d+)$", text)
        return _number_final(number.group(2), bool(number.group(1))) if number else None
    if last.isascii() and last.isalpha():
        letters = re.search(r"[A-Za-z]+$", text)
        if not letters:
            return None
        # The last part of a camel-cased run: iOS → OS (letters), GitHub → Hub (a word).
        parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+", letters.group())
        return _word_final(parts[-1] if parts else letters.group())
    return _SYMBOLS.get(last)


def particle(word: str, pair: str) -> str:
    """The form of `pair` ("을(를)", "(으)로"…) that fits after `word`; the pair itself
    when the word's end cannot be read."""
    consonant = final(word)
    if consonant is None:
        return pair
    after_consonant, after_vowel = PAIRS[pair]
    if pair == "(으)로" and consonant == RIEUL:
        return after_vowel
    return after_consonant if consonant else after_vowel


def particles(text: str) -> str:
    """Every particle pair in `text` replaced by the form that fits the word before it.
    Safe text stays safe: only Korean letters change."""
    value = str(text)
    if "(" not in value:
        return text
    out: list[str] = []
    done = 0
    for match in _PAIR.finditer(value):
        out.append(value[done : match.start()])
        out.append(particle(value[: match.start()], match.group()))
        done = match.end()
    out.append(value[done:])
    result = "".join(out)
    return mark_safe(result) if isinstance(text, SafeData) else result  # noqa: S308


@register.filter(name="particles", is_safe=True)
def particles_filter(value: object) -> str:
    """`{{ message|particles }}`: Korean particle pairs chosen for their words."""
    return particles(value if isinstance(value, str) else str(value))
