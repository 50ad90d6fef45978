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
    ],
)
def test_the_months_a_text_attaches_to_its_years(text, expected):
    assert months_of_years(text) == expected


def test_a_year_with_a_month_is_not_bare():
    text = "She joined in May 2014 and left in 2016; 他 2018 年 3 月回来。"
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
        ("en", "She left the company 2019.", "She left the company in February 2019."),
        ("de", "Sie ging in 2019.", "Sie ging im Februar 2019."),
        ("de", "Sie hat die Firma 2019 verlassen.", "Sie hat die Firma im Februar 2019 verlassen."),
        ("de", "2019", "Februar 2019"),
        ("zh", "她于2019年离开。", "她于2019年2月离开。"),
        ("ar", "غادرت عام 2019.", "غادرت في فبراير 2019."),
        ("ar", "غادرت في 2019.", "غادرت في فبراير 2019."),
    ],
)
def test_a_bare_year_gets_the_month_its_cited_passage_gives(lang, answer, completed):
    for source in (SOURCE_ZH, SOURCE_DE):
        claim = complete_dates(Claim(answer, (1,)), [source], lang)
        assert claim.text == completed and claim.repaired and claim.as_written == answer


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
    assert claim.text == answer and not claim.repaired
