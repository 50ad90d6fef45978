"""Corpus loading: boilerplate removal, titles, dates, languages and offsets on the real seeds, and
decode() on the encodings and bad files users upload. Fast, no models."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from qa.text.corpus import MAX_DOC_BYTES, CorpusError, article_spans, decode, make_document, read_corpus

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
LANGS = {"000": "de", "001": "ar", "002": "de", "003": "zh", "004": "de"}


@pytest.fixture(scope="module")
def docs():
    return {d.id[:3]: d for d in read_corpus([SEEDS])[0]}


def seed_text(prefix: str) -> str:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return path.read_bytes().decode("utf-8")


def kept(doc) -> list[str]:
    return [doc.text[s:e] for s, e in doc.spans]


# -- the seeds ----------------------------------------------------------------------------------


def test_loads_the_five_articles_and_not_the_gold_file(docs):
    assert sorted(docs) == ["000", "001", "002", "003", "004"]
    assert all(not d.id.startswith("gold") for d in docs.values())


def test_languages(docs):
    assert {k: d.lang for k, d in docs.items()} == LANGS


def test_text_is_the_file_text_and_spans_point_into_it(docs):
    for key, doc in docs.items():
        assert doc.text == seed_text(key)
        assert doc.id == Path(doc.path).stem
        previous_end = 0
        for s, e in doc.spans:
            assert previous_end <= s < e <= len(doc.text)
            assert doc.text[s:e].strip() and "\n" not in doc.text[s:e]
            previous_end = e


def test_language_menu_row_of_002_is_removed(docs):
    doc = docs["002"]
    menu = [line for line in doc.text.splitlines() if "Русский язык" in line]
    assert len(menu) == 1 and "Sanskrit" in menu[0]
    assert not any("Русский" in line or "Sanskrit" in line or "Deutsch" in line for line in kept(doc))


def test_footer_of_003_is_removed(docs):
    doc = docs["003"]
    body = "\n".join(kept(doc))
    for furniture in ("打赏", "{{data.count}}", "条回复", "暂无讨论", "个人中心", "今日签到", "富士康", "COLM"):
        assert furniture in doc.text and furniture not in body
    assert kept(doc)[-1].endswith("这似乎表明公司正在测试其关键人员的可替代性。")


def test_teaser_duplicate_of_003_is_removed(docs):
    doc = docs["003"]
    lines = kept(doc)
    assert not any("图源 Pexels上周" in line for line in lines)  # the teaser glues paragraphs together
    assert sum("注入了 66 亿美元" in line for line in lines) == 1  # the fact is kept exactly once
    assert sum(line.strip() == "OpenAI 重点转向产品开发,研究人才外流给了对手机会" for line in lines) == 1
    assert sum("10 月 8 日消息" in line for line in lines) == 1


def test_article_text_is_kept(docs):
    assert any("Anthropic anschließt" in line for line in kept(docs["002"]))
    assert any("14,3 Milliarden Dollar in Scale AI" in line for line in kept(docs["004"]))
    assert any("سيباستيان بوبيك" in line for line in kept(docs["001"]))
    assert any("Bubeck" in line for line in kept(docs["000"]))


def test_titles_and_dates(docs):
    assert docs["002"].title == (
        "OpenAI steht vor mehreren Herausforderungen: Abwanderung von Fachkräften, "
        "finanzieller Druck und Aufholjagd der Wettbewerber."
    )
    assert docs["002"].date == "2024-08-19"
    assert docs["003"].title == "OpenAI 重点转向产品开发,研究人才外流给了对手机会"
    assert docs["004"].title == "Aggressive Gewinnungsstrategie von Meta: Reiche Geldpreise für führende KI-Fachkräfte"
    for doc in docs.values():
        assert doc.title and len(doc.title) <= 201
        assert doc.date is None or (len(doc.date) == 10 and doc.date[4] == "-" and doc.date[7] == "-")


def test_sha256_identifies_the_text(docs):
    assert len({d.sha256 for d in docs.values()}) == 5
    again = make_document(docs["004"].id, docs["004"].text)
    assert again.sha256 == docs["004"].sha256 and again.spans == docs["004"].spans


# -- the generic rules on other articles ---------------------------------------------------------

ARTICLE = [
    "Ein langer Titel über die Abwanderung von Fachkräften",
    "2025-03-07",
    "Die erste Meldung des Tages betrifft einen Wechsel an der Spitze eines großen Unternehmens.",
    "Der zweite Absatz erklärt die Hintergründe und zitiert mehrere Fachleute aus der Branche.",
    "Im dritten Absatz geht es um die finanziellen Folgen und die Reaktion der Investoren.",
    "Der vierte Absatz blickt auf die kommenden Monate und mögliche weitere Abgänge.",
    "Zum Schluss fasst der Artikel die wichtigsten Punkte noch einmal zusammen.",
]


def test_generic_footer_and_menu_rules_on_an_uploaded_article():
    lines = (
        ARTICLE[:2]
        + ["English Deutsch Français Español 中文"]
        + ARTICLE[2:]
        + ["Leave a comment", "Related articles", "Ein anderer Artikel über etwas ganz anderes"]
    )
    doc = make_document("upload_x", "\n".join(lines) + "\n")
    assert kept(doc) == ARTICLE
    assert doc.date == "2025-03-07" and doc.title == ARTICLE[0]


def test_widget_words_early_in_the_text_are_not_a_footer():
    lines = [ARTICLE[0], "Share this article with a friend who cares about it."] + ARTICLE[2:]
    doc = make_document("upload_y", "\n".join(lines))
    assert kept(doc) == lines


def test_windows_line_endings_keep_offsets_exact():
    text = "\r\n".join(ARTICLE) + "\r\n"
    doc = make_document("crlf", text)
    assert kept(doc) == ARTICLE
    assert all("\r" not in doc.text[s:e] for s, e in doc.spans)


def test_verbatim_repeated_lines_are_kept_once():
    lines = ARTICLE[:4] + [ARTICLE[2]] + ARTICLE[4:]
    assert [line for line in kept(make_document("rep", "\n".join(lines)))] == ARTICLE


def test_document_without_article_text_is_refused():
    with pytest.raises(CorpusError):
        make_document("menu", "EnglishDeutschFrançaisEspañol中文\n\n")


def test_read_corpus_of_an_empty_folder_is_refused(tmp_path):
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(CorpusError, match="no .txt or .md"):
        read_corpus([tmp_path])


def test_read_corpus_reads_md_and_txt(tmp_path):
    shutil.copy(next(SEEDS.glob("004_*.txt")), tmp_path / "a.txt")
    (tmp_path / "b.md").write_text("\n".join(ARTICLE), encoding="utf-8")
    assert [d.id for d in read_corpus([tmp_path])[0]] == ["a", "b"]


# -- decode() -----------------------------------------------------------------------------------


def test_decode_utf8_with_bom():
    text = seed_text("004")[:2000]
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == text


@pytest.mark.parametrize("seed, encoding", [("003", "gb18030"), ("001", "cp1256")], ids=["chinese", "arabic"])
def test_decode_legacy_encodings_that_are_not_utf8(seed, encoding):
    text = seed_text(seed)[:2000]
    data = text.encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert decode(data) == text


def test_decode_windows_1252_german():
    text = seed_text("004")[:2000]
    assert decode(text.encode("cp1252")) == text


def test_decode_normalizes_to_nfc():
    assert (
        decode("Mu\u0308ller hat eine lange Geschichte erzählt.".encode())
        == "Müller hat eine lange Geschichte erzählt."
    )


@pytest.mark.parametrize("data", [b"", b"   \n\t  \n"])
def test_decode_empty_is_refused(data):
    with pytest.raises(CorpusError, match="empty"):
        decode(data, "leer.txt")


def test_decode_binary_with_nul_bytes_is_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    with pytest.raises(CorpusError, match="binary"):
        decode(png, "bild.txt")


def test_decode_binary_without_nul_bytes_is_refused():
    rng = random.Random(7)
    data = bytes(rng.randrange(1, 256) for _ in range(4000))
    with pytest.raises(CorpusError):
        decode(data, "zufall.txt")


def test_decode_control_characters_are_refused():
    rng = random.Random(3)
    data = bytes(rng.randrange(1, 32) for _ in range(4000))
    with pytest.raises(CorpusError, match="binary"):
        decode(data)


def test_decode_too_short_and_too_large_are_refused():
    with pytest.raises(CorpusError, match="too little text"):
        decode(b"hi there")
    with pytest.raises(CorpusError, match="limit"):
        decode(b"a" * (MAX_DOC_BYTES + 1))


def test_corpus_error_is_a_value_error_with_the_file_name():
    with pytest.raises(ValueError, match="leer.txt"):
        decode(b"", "leer.txt")


def test_article_spans_of_blank_text_is_empty():
    assert article_spans("\n \n\t\n") == []
