"""Months and the years they date (qa.text.dates), and the date repair of an answer asked when
(qa.answering.repair.complete_dates). Invented sentences; the month names are the languages' own."""

from __future__ import annotations

import pytest

from qa.answering.claims import Claim
from qa.answering.repair import complete_dates
from qa.text.dates import bare_years, month_and_year, months_of_years


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Sie verließ die Firma im Februar 2019.", {2019: {2}}),
        ("She joined in October of 2020 and left in 2022.", {2020: {10}}),
        ("她在 2018 年 7 月加入，2021年12月离开。", {2018: {7}, 2021: {12}}),
        ("انضمت في أكتوبر 2020.", {2020: {10}}),
        ("غادرت في نيسان 2017.", {2017: {4}}),
        ("Im Jänner 2016 begann es.", {2016: {1}}),
        ("It opened in 2015.", {}),
        ("Es geschah am 03.05.2019, gemeldet 2019-07-01.", {2019: {5, 7}}),
        ("It was announced on February 3, 2021.", {2021: {2}}),
        ("وذلك بفبراير من العام 2022.", {2022: {2}}),
        ("It may 2019 happen; in May, 2019 customers came.", {}),  # the modal, and no month dating a year
    ],
)
def test_the_months_a_text_attaches_to_its_years(text, expected):
    assert months_of_years(text) == expected


def test_a_year_with_a_month_is_not_bare():
    text = "She joined in May 2014 and left in 2016; 他 2018 年 3 月回来, am 03.02.2017."
    assert [year for _, _, year in bare_years(text)] == [2016]


@pytest.mark.parametrize(
    "lang, written", [("en", "July 2012"), ("de", "Juli 2012"), ("zh", "2012年7月"), ("ar", "يوليو 2012")]
)
def test_a_month_and_year_in_each_language(lang, written):
    assert month_and_year(7, 2012, lang) == written


SOURCE_ZH = "埃里卡・穆斯特曼 2015 年加入公司，并在 2019 年 2 月离开，创办了自己的工作室。"
SOURCE_DE = "Erika Mustermann kam 2015 zur Firma und ging im Februar 2019."


@pytest.mark.parametrize(
    "lang, answer, completed",
    [
        ("en", "She left in 2019.", "She left in February 2019."),
        ("de", "Sie ging in 2019.", "Sie ging im Februar 2019."),
        ("de", "In 2019 ging sie.", "Im Februar 2019 ging sie."),
        ("de", "2019 ging sie.", "Im Februar 2019 ging sie."),
        ("de", "2019", "Februar 2019"),
        ("en", "Since 2019 she has worked alone.", "Since February 2019 she has worked alone."),
        ("zh", "她于2019年离开。", "她于2019年2月离开。"),
        ("ar", "غادرت في 2019.", "غادرت في فبراير 2019."),
        ("ar", "وفي عام 2019 غادرت.", "وفي فبراير 2019 غادرت."),
    ],
)
def test_a_bare_year_gets_the_month_its_cited_passage_gives(lang, answer, completed):
    for source in (SOURCE_ZH, SOURCE_DE):
        claim = complete_dates(Claim(answer, (1,)), [source], lang)
        assert claim.text == completed and claim.dated and claim.as_written == answer


@pytest.mark.parametrize(
    "answer, sources",
    [
        ("She joined in 2015.", [SOURCE_ZH]),  # the passage dates 2015 to no month
        ("She left in 2019.", ["Sie ging im Februar 2019, zurück kam sie im Mai 2019."]),  # two months
        ("She left in 2019.", ["2019 war ein gutes Jahr; im Februar 2019 ging sie."]),  # 2019 also bare
        ("She left in 2020.", [SOURCE_DE]),  # a year the passage does not state
        ("She left in February 2019.", [SOURCE_DE]),  # dated already
        ("She left in 2019.", []),  # nothing cited
    ],
)
def test_a_year_left_as_written(answer, sources):
    claim = complete_dates(Claim(answer, (1,)), sources, "en")
    assert claim.text == answer and not claim.dated


@pytest.mark.parametrize(
    "lang, answer",
    [
        # a month there would move the date, or the year is part of a date, a range or a name
        ("en", "It closes by the end of 2019."),
        ("en", "It happened before 2019."),
        ("en", "It grew in mid-2019."),
        ("en", "It ran in 2018-2019."),
        ("en", "It was the 2019 election."),
        ("en", "It was February 3, 2019."),
        ("en", "It was in Feb. 2019."),
        ("en", "It was on 2019-02-03."),
        ("en", "She left the company 2019."),  # no "in" before it: left as written
        ("de", "Sie ging Ende 2019."),
        ("de", "Sie ging im Jahr 2019."),
        ("de", "Sie ging am 03.02.2019."),
        ("de", "Im März 2019 kam sie, 2019 ging sie."),  # the answer dates 2019 itself
        ("zh", "她2019年底离开。"),
        ("zh", "她2019年上半年离开。"),
        ("zh", "2019年二月"),
        ("ar", "غادرت خلال عام 2019."),
        ("ar", "غادرت في ابريل 2019."),
    ],
)
def test_no_month_where_it_would_change_the_date(lang, answer):
    claim = complete_dates(Claim(answer, (1,)), [SOURCE_DE], lang)
    assert claim.text == answer and not claim.dated
