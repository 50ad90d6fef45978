"""What kind of value a question asks for (qa.text.asked), in the four answer languages, and
whether a sentence states one. Examples use invented people and firms."""

from __future__ import annotations

import pytest

from qa.text.asked import Kind, asked_kind, only_money, states_date, states_time
from qa.text.question import question_words


@pytest.mark.parametrize(
    ("question", "lang", "kind"),
    [
        ("When did Erika Mustermann leave Blauwal?", "en", Kind.TIME),
        ("In which year was Nordwind founded?", "en", Kind.DATE),
        ("Since when has she worked there?", "en", Kind.TIME),
        ("Wann hat Erika Mustermann Blauwal verlassen?", "de", Kind.TIME),
        ("In welchem Monat wurde Nordwind gegründet?", "de", Kind.DATE),
        ("穆斯特曼是什么时候离开蓝鲸的？", "zh", Kind.TIME),
        ("北风公司是哪一年成立的？", "zh", Kind.DATE),
        ("متى غادرت إيريكا موسترمان الشركة؟", "ar", Kind.TIME),
        ("في أي عام تأسست الشركة؟", "ar", Kind.DATE),
        ("في أية سنة تأسست الشركة؟", "ar", Kind.DATE),
        ("What was the date of the merger?", "en", Kind.DATE),
        ("In which quarter did Nordwind's revenue fall?", "en", Kind.DATE),
        ("In welchem Quartal sank der Umsatz von Nordwind?", "de", Kind.DATE),
        ("北风公司成立的日期是什么？", "zh", Kind.DATE),
        ("北风公司是在哪个季度亏损的？", "zh", Kind.DATE),
        ("ما تاريخ الاستحواذ على الشركة؟", "ar", Kind.DATE),
        ("北风公司成立于何年？", "zh", Kind.DATE),
        ("穆斯特曼何时离开蓝鲸？", "zh", Kind.TIME),
        ("في اي عام تأسست الشركة؟", "ar", Kind.DATE),
        ("How many engineers work at Nordwind?", "en", Kind.COUNT),
        ("Wie viele Ingenieure arbeiten bei Nordwind?", "de", Kind.COUNT),
        ("北风公司有多少名员工？", "zh", Kind.COUNT),
        ("كم عدد موظفي الشركة؟", "ar", Kind.COUNT),
    ],
)
def test_the_asked_kind(question, lang, kind):
    assert asked_kind(question, lang) is kind


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Why did Erika Mustermann leave Blauwal?", "en"),
        ("How much did Nordwind pay for Blauwal?", "en"),
        ("When and why did she leave Blauwal?", "en"),  # two things asked: nothing is checked
        ("Was she still at Blauwal when Nordwind invested?", "en"),  # "when" joins clauses: a yes/no question
        ("How many millions of dollars did Nordwind pay?", "en"),  # money, asked as a count
        ("Wie viele Millionen Euro zahlte Nordwind?", "de"),
        ("北风公司融了几个亿？", "zh"),
        ("Wer hat Nordwind gegründet?", "de"),
        ("北风公司花了多少钱？", "zh"),
        ("لماذا غادرت الشركة؟", "ar"),
        ("What year-end bonus did she receive?", "en"),  # a compound, not "which year"
        ("Welche Tagesordnung hatte das Treffen?", "de"),
    ],
)
def test_other_questions_have_no_kind(question, lang):
    assert asked_kind(question, lang) is None


def test_question_words_are_counted():
    assert question_words("When and why did she leave?", "en") == 2
    assert question_words("Wann hat sie Blauwal verlassen?", "de") == 1
    assert question_words("她是谁？她在哪里工作？", "zh") == 2


@pytest.mark.parametrize(
    "sentence",
    [
        "She left Blauwal in 2019.",
        "She left in March.",
        "Sie hat Blauwal letzten Monat verlassen.",
        "She left after the merger.",
        "她去年离开了蓝鲸。",
        "她于 3 月离开。",
        "غادرت الشركة في مارس.",
        "غادرت الشركة العام الماضي.",
        "وبعد ذلك انضمت إلى الشركة.",  # a time word with a letter written onto it
        "بعدما غادرت الشركة.",
        "Am 19.08.2024.",
        "In the third quarter.",
        "Während der Pandemie.",
        "在离开蓝鲸后加入。",
        "两天前。",
    ],
)
def test_a_sentence_placed_in_time(sentence):
    assert states_time(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Nordwind paid 45 million dollars for Blauwal.",
        "Nordwind hat 45 Millionen Dollar für Blauwal bezahlt.",
        "北风为蓝鲸支付了 4500 万美元。",
        "دفعت الشركة 45 مليون دولار.",
    ],
)
def test_a_sentence_with_no_time(sentence):
    assert not states_time(sentence)


def test_only_money():
    assert only_money("Nordwind paid 45 million dollars.", [45e6], "en")
    assert only_money("北风为蓝鲸支付了 120亿美元。", [1.2e10], "zh")
    assert only_money("دفعت الشركة 45 مليون دولار.", [45e6], "ar")
    assert not only_money("Nordwind has 45 engineers.", [45], "en")
    assert not only_money("Nordwind paid 45 million dollars for 12 engineers.", [45e6, 12], "en")
    assert not only_money("Nordwind paid a lot.", [], "en")  # no number: not this check's business
    # a count in words beside money in digits is a count
    assert not only_money("Seven engineers, after a $5 billion round.", [7, 5e9], "en")
    assert not only_money("Nordwind has 30 European engineers.", [30], "en")  # "Euro…" is no currency there


@pytest.mark.parametrize(
    "sentence",
    [
        "She left Blauwal in 2019.",
        "Im März.",
        "Sie hat Blauwal letzten Monat verlassen.",
        "Last year.",
        "Am Donnerstag.",
        "Am 19.08.2024.",
        "她去年离开了蓝鲸。",
        "北风公司于 3 月成立。",
        "两天前。",
        "تأسست الشركة قبل عامين.",
        "غادرت الشركة في مارس.",
        # from a review's ~230 short answers: each was missed by a first version
        "On Dec 5.",
        "On the 5th.",
        "Im Vorjahr.",
        "Am Folgetag.",
        "Im ersten Halbjahr.",
        "Im Spätsommer.",
        "Heuer.",
        "Am 5.3.",
        "On 5/3.",
        "بمارس.",
        "والخميس.",
        "今春。",
        "上个月。",
        "当晚。",
        "上旬。",
        "礼拜三。",
    ],
)
def test_a_sentence_naming_a_date(sentence):
    assert states_date(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Nordwind has grown since its founding.",
        "Seit seiner Gründung wächst Nordwind.",
        "She left after the merger.",
        "成立后不久就被收购了。",
        "بعد الاندماج غادرت الشركة.",
        "Nordwind paid 45 million dollars for Blauwal.",
        # words that hold a unit's letters without naming a date
        "He may be sold.",
        "Shares fall.",
        "Version 3.5.",
        "它在日本很有名。",
        "他周围的人都离开了。",
        "他的年薪为100万美元。",
        "عامل في المصنع.",
        "أربعة موظفين غادروا.",
    ],
)
def test_a_sentence_placed_only_relative_to_an_event_names_no_date(sentence):
    assert not states_date(sentence)
