"""What kind of value a question asks for, and whether a sentence states a value of that kind.

A cited sentence can pass every check of what it says and still not answer: asked how many
people work somewhere, it gives an amount of money; asked when something happened, it says how
much was paid. Three kinds are told apart by the question's words, in the four answer languages:
- TIME: "when", "since when" (wann, 什么时候, متى …): a date or a time relative to an event
  ("after the merger") answers;
- DATE: "in which year / month", "on which day" (welches Jahr, 哪一年, أي عام …): only a date or
  a calendar unit answers ("2019", "im März", "last year", "去年"); "since its founding" answers
  "when was it founded" no more than "in which year";
- COUNT: "how many …" (wie viele, 多少名 / 几个, كم عدد).
A question that asks for anything else, or for more than one thing ("When and why …?"), has no
kind, and nothing is checked. The words are the languages' own, not the articles'.
"""

from __future__ import annotations

import re
from enum import Enum

from qa.text import numbers
from qa.text.dates import MONTHS, YEAR, is_year
from qa.text.question import question_words


class Kind(str, Enum):
    TIME = "time"
    DATE = "date"
    COUNT = "count"


_ASKS = {
    Kind.TIME: {
        # "when" asks only at the start of a clause or before an auxiliary: in "Was he CEO when
        # X invested?" it is a conjunction, and the question asks yes or no
        "en": r"^\W*(?:(?:and|so|but)\s+)?(?:since\s+|until\s+)?when\b|\bwhen\s+(?:did|does|do|was|were|is|are|will|"
        r"would|has|have|had|can|could)\b",
        "de": r"\b(?:seit\s+)?wann\b",
        "zh": r"什么时候|何时",
        "ar": r"(?<!\w)متى(?!\w)",
    },
    Kind.DATE: {
        "en": r"\b(?:what|which)\s+(?:year|month|day|date|weekday|quarter|decade)(?![\w-])|"
        r"\bwhat\s+(?:was|is|were)\s+the\s+date\b",
        "de": r"\bwelche[mnrs]?\s+(?:jahr|monat|tag|datum|wochentag|quartal|jahrzehnt)(?![\w-])|"
        r"\ban\s+welchem\s+datum\b",
        "zh": r"哪一年|哪年|何年|哪个月|几月|何月|哪一天|哪天|何日|几号|星期几|周几|哪个季度|日期是",
        "ar": r"(?<!\w)[أا]يّ?ة?\s+(?:عام|سنة|شهر|يوم|تاريخ)(?!\w)|(?<!\w)(?:ما\s+(?:هو\s+)?)تاريخ(?!\w)",
    },
    Kind.COUNT: {
        # not when money follows: "How many billions of dollars …", "Wie viele Millionen Euro …", "几个亿"
        "en": r"\bhow\s+many\b(?!\s+(?:\w+\s+)?(?:millions?|billions?|trillions?|dollars?|euros?)\b)",
        "de": r"\bwie\s+viele\b(?!\s+(?:\w+\s+)?(?:million\w*|milliard\w*|mio|mrd|dollar|euro)\b)",
        "zh": r"多少(?:名|位|个(?![亿万])|人|家|次|款|项)|几(?:名|位|个(?![亿万])|家|次|款|项|人)",
        "ar": r"(?<!\w)كم\s+عدد(?!\w)",
    },
}
_ASKS_RE = {
    kind: {lang: re.compile(p, re.IGNORECASE) for lang, p in by_lang.items()} for kind, by_lang in _ASKS.items()
}

_WEEKDAYS = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag|"
    r"الاثنين|الإثنين|الثلاثاء|الأربعاء|الخميس|الجمعة|السبت|الأحد"
)
# Words that place a statement in time without a date: "last month", "seit Anfang des Jahres",
# "去年", "منذ عامين", "after he left", "früher".
_RELATIVE = {
    "en": r"years?|months?|weeks?|weekends?|days?|decades?|quarters?|q[1-4]|ago|last|since|after|before|earlier|"
    r"later|recently|today|yesterday|tomorrow|now|currently|then|spring|summer|autumn|fall|winter|previously|"
    r"formerly|morning|evening|night|when|during|until|upon|following|prior|afterwards?|thereafter|start|"
    r"beginning|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|times?|past|launch\w*|founding|'?\d0s",
    "de": r"jahr\w*|monat\w*|woche\w*|tag\w*|jahrzehnt\w*|vor|seit\w*|nach\w*|letzte\w*|vorige\w*|"
    r"kürzlich|neulich|jüngst|heute|gestern|morgen|damals|jetzt|derzeit|anfang|ende|mitte|"
    r"frühling|frühjahr|sommer|herbst|winter|früher|später|zuvor|bereits|quartal\w*|bevor|danach|darauf|"
    r"vorher|bisher|bislang|inzwischen|mittlerweile|zunächst|anschließend|beginn\w*|gründung\w*|start\w*|"
    r"während\s+(?:der|des|dem|seine\w*|ihre\w*)",
    # Arabic writes و/ف/ب/ل/ك/ال onto a word and ما/ها/هم after it ("وبعد", "بعدما", "بالأمس")
    "ar": r"\w*(?:عام|أعوام|سنة|سنوات|شهر|أشهر|شهور|أسبوع|أسابيع|يوم|أيام|ربع|صيف|شتاء|ربيع|خريف|وقت)\w*|"
    r"(?:و|ف|ب|ل|ك)?(?:ال)?(?:منذ|بعد|قبل|قبيل|عقب|إثر|فور|خلال|أثناء|عندما|حين|الماضي|الماضية|المقبل|"
    r"المقبلة|القادم|القادمة|مؤخرا|مؤخرًا|أمس|غدا|الآن|حاليا|حاليًا|بداية|نهاية|منتصف|آنذاك|سابقا|سابقًا|"
    r"لاحقا|لاحقًا)(?:ما|ها|هم|ه)?",
}
# Calendar units and the days named after today: what a sentence answering "in which year /
# month / on which day" must name when it names no year, month or weekday ("im Vorjahr", "last
# week", "两天前", "قبل عامين"); not the words that place a thing after or before an event. A
# review tried ~230 short answers: these lists hold what the right ones were missing.
_UNITS = {
    "en": r"years?|months?|weeks?|weekends?|days?|decades?|quarters?|q[1-4]|today|yesterday|tomorrow|tonight|"
    r"spring|summer|autumn|winter|midyear|'?\d0s|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|"
    r"\d{1,2}(?:st|nd|rd|th)",
    "de": r"(?:vor|folge|halb|kalender|geschäfts)?(?:jahr|monat)\w*|(?:vor|folge)?(?:woche|tag)\w*|jahrzehnt\w*|"
    r"quartal\w*|heute|gestern|vorgestern|morgen|übermorgen|heuer|(?:früh|spät)?(?:sommer|herbst|winter)|"
    r"frühling|frühjahr",
    # a unit with the letters Arabic writes onto it (و/ف/ب/ل/ك, ال; dual and plural endings, ها/هم)
    "ar": r"(?:و|ف|ب|ل|ك)?(?:ال)?(?:عام|أعوام|سنة|سنوات|شهر|أشهر|شهور|أسبوع|أسابيع|يوم|أيام|ربع|صيف|شتاء|ربيع|"
    r"خريف|أمس|غدا)(?:ان|ين|ا|ها|هم)?",
}
# Month and weekday names as they are written (capitalised in English and German: "He may be
# sold", "Shares fall" name no month), Arabic ones with a letter written onto them ("بمارس").
_NAMED_DAYS = re.compile(rf"(?<![^\W\d_])(?:[وفبلك]|ال)?(?:{MONTHS}|{_WEEKDAYS.title()})(?![^\W\d_])")
_DATE_WORDS = re.compile(rf"(?<![^\W\d_])(?:{'|'.join(_UNITS.values())})(?![^\W\d_])", re.IGNORECASE)
# day and month written as numbers after "am"/"on"/"في", without a year ("am 5.3.", "on 5/3")
_DAY_MONTH = re.compile(r"(?<!\w)(?:am|vom|zum|on|في)\s+\d{1,2}(?:\.\d{1,2}\.|/\d{1,2})(?![\d/])", re.IGNORECASE)
# Chinese: a unit after a number or a word that counts or points ("2024年", "两天前", "去年", "上周",
# "当天", "第三季度"), weekdays, seasons ("今春"), parts of the day ("当晚"); not 日本, 周围, 年薪, 天气
_DATE_ZH = re.compile(
    r"[\d〇零一二三四五六七八九十百两几今去明前后上下本当同次该每整全半初中底这那]\s*个?\s*[年月日号天周季旬]|星期|礼拜|"
    r"周[一二三四五六日天末]|[今去明初早晚][春夏秋冬]|春节|元旦|[今当昨明][晚晨早夜]|[Qq][1-4]"
)
_TIME_WORDS = re.compile(
    rf"(?<![^\W\d_])(?:{MONTHS}|{_WEEKDAYS}|{'|'.join(_RELATIVE.values())})(?![^\W\d_])", re.IGNORECASE
)
# Chinese has no spaces: a time word is any of these characters or words
_TIME_ZH = re.compile(
    r"[年月日号周季春夏秋冬]|星期|今天|昨天|明天|去年|今年|明年|最近|近日|日前|此前|之前|以前|之后|以后|后来|当时|"
    r"目前|现在|当天|随后|此后|至今|刚刚|不久|近期|早些|那时|期间|之初|[后时]|[天年月]前|前(?=[，,。；;]|$)|[Qq][1-4]"
)
_YEAR = re.compile(rf"(?<!\d){YEAR}(?!\d)")
_MONEY = re.compile(
    r"^\s*(?:(?:mio\.?|mrd\.?|million\w*|milliard\w*|billion\w*|亿|万|مليون|مليار|ملايين|مليارات)\s*)?"
    r"(?:us-?)?(?:(?:dollars?|usd|euros?)(?![a-z])|\$|€|美元|元|人民币|دولار\w*|يورو)",
    re.IGNORECASE,
)


def asked_kind(question: str, lang: str) -> Kind | None:
    """The kind of value the question asks for, when it asks for exactly one value of a kind
    told apart here; None otherwise."""
    if question_words(question, lang) != 1:
        return None
    kinds = [kind for kind, by_lang in _ASKS_RE.items() if lang in by_lang and by_lang[lang].search(question)]
    return kinds[0] if len(kinds) == 1 else None


def states_time(text: str) -> bool:
    """Whether the sentence places something in time: a year, a month, a weekday, a date, or a
    relative time ("last month", "seit 2021", "去年", "منذ عامين")."""
    return _names_a_year(text) or bool(_TIME_WORDS.search(text) or _TIME_ZH.search(text))


def states_date(text: str) -> bool:
    """Whether the sentence names a year, a month, a weekday, a date or a calendar unit ("last
    year", "vor zwei Wochen", "去年", "قبل عامين"): what answers "in which year / month / on
    which day", where "after the merger" or "seit seiner Gründung" does not."""
    if _names_a_year(text):
        return True
    return any(p.search(text) for p in (_NAMED_DAYS, _DATE_WORDS, _DAY_MONTH, _DATE_ZH))


def _names_a_year(text: str) -> bool:
    return any(is_year(v) for _, _, v in numbers.spans(text)) or bool(_YEAR.search(text))


def only_money(text: str, values: list[float], lang: str) -> bool:
    """Whether every value of `values` (the sentence's numbers, digits and number words alike) is
    written as an amount of money (a currency follows or precedes it), and there is one."""
    money = [
        v for s, e, v in numbers.spans(text, lang) if _MONEY.match(text[e:]) or text[:s].rstrip().endswith(("$", "€"))
    ]
    return bool(values) and all(any(numbers.same(v, m) for m in money) for v in values)
