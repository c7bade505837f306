"""Arabic-aware matching: normalization, clitics, case, offsets and disambiguation."""

from __future__ import annotations

import random
from typing import Any

import pytest

from services.tag.handler import get_tagger
from services.text.arabic import fold_for_matching, normalize_arabic, to_original


def _tag(text: str, title: str | None = None) -> dict[str, Any]:
    return get_tagger().tag(title, text)


def _places(tags: dict[str, Any], *, syrian: bool | None = None) -> set[str]:
    return {p["name"] for p in tags["places"] if syrian is None or p["syrian"] is syrian}


def _check_offsets(text: str, tags: dict[str, Any], title: str | None = None) -> None:
    for group in ("places", "actors", "topics"):
        for item in tags[group]:
            for ev in item["evidence"]:
                src = title if ev["field"] == "title" else text
                assert src is not None
                assert src[ev["start"] : ev["end"]] == ev["text"]


def test_normalize_arabic_keeps_its_contract() -> None:
    assert normalize_arabic("الرَّقّة") == normalize_arabic("الرقه") == "الرقه"
    assert normalize_arabic("إدلب") == "ادلب"


def test_fold_maps_offsets_back_through_deleted_marks() -> None:
    text = "قصفٌ على دَيْرِ الزّور اليوم"
    folded, keys = fold_for_matching(text)
    i = folded.index("دير الزور")
    s, e = to_original(keys, i), to_original(keys, i + len("دير الزور"), end=True)
    assert text[s:e] == "دَيْرِ الزّور"


@pytest.mark.parametrize(
    "text",
    [
        "اشتباكات بالرقة أمس",
        "اشتباكات والرقة أمس",
        "الطريق المؤدي للرقة مغلق",
        "وبالرقة قتل ثلاثة",
        "فالرقة تشهد معارك",
        "معارك في الرَّقَّة السورية",
        "معارك في الرقه السورية",
    ],
)
def test_arabic_clitics_and_spelling_variants(text: str) -> None:
    tags = _tag(text + " في سوريا")
    assert "Raqqa" in _places(tags, syrian=True)
    _check_offsets(text + " في سوريا", tags)


@pytest.mark.parametrize(
    "text",
    ["Fighting in Raqqa", "Fighting in Raqqah", "Fighting in ar-Raqqa", "Fighting in Ar Raqqah", "in al-Raqqah"],
)
def test_english_transliterations(text: str) -> None:
    assert "Raqqa" in _places(_tag(text + ", Syria."))


def test_deir_ez_zor_variants() -> None:
    for name in ("Deir ez-Zor", "Deir al-Zour", "Dayr az Zawr", "دير الزور", "بدير الزور"):
        tags = _tag(f"Clashes near {name} today.")
        assert "Deir ez-Zor" in _places(tags, syrian=True), name


def test_no_match_inside_words_or_with_foreign_prefixes() -> None:
    # "سوريا" inside a longer name is the SDF, not a separate place mention.
    tags = _tag("أعلنت قوات سوريا الديمقراطية السيطرة على قرية")
    assert "Syria" not in _places(tags)
    assert "Syrian Democratic Forces" in {a["name"] for a in tags["actors"]}
    # Latin names need word boundaries and capitals: "turkey" the bird, "is" the verb.
    tags = _tag("This is a roast turkey recipe that is easy.")
    assert tags["places"] == []
    assert tags["actors"] == []


def test_ambiguous_common_words_need_context() -> None:
    # الطبقة "the class", الباب "the door": not Tabqa or al-Bab without a place word.
    tags = _tag("تحدث الوزير عن الطبقة الوسطى وفتح الباب أمام الاستثمار في سوريا")
    assert _places(tags, syrian=True) == {"Syria"}
    tags = _tag("سيطرت القوات على مدينة الطبقة ومدينة الباب في سوريا")
    assert {"Tabqa", "Al-Bab"} <= _places(tags, syrian=True)


def test_raqqa_district_of_kuwait() -> None:
    text = "افتتحت وزارة الصحة الكويتية مركزا صحيا جديدا في منطقة الرقة بمحافظة الأحمدي في الكويت."
    tags = _tag(text)
    assert not _places(tags, syrian=True)
    assert tags["syria"]["grade"] == 0


def test_homs_libya_and_homs_syria() -> None:
    libya = _tag("Libyan coastguards intercepted a boat off Homs, east of Tripoli, Libya, near Misrata.")
    assert "Homs" not in _places(libya, syrian=True)
    assert libya["syria"]["grade"] == 0
    syria = _tag("Government shelling hit Homs in central Syria, residents said.")
    assert "Homs" in _places(syria, syrian=True)
    # Al-Khums is a different name in Arabic.
    assert "Al-Khums" in _places(_tag("وصل المهاجرون إلى ميناء الخمس الليبي"), syrian=False)


def test_surrey_is_not_syria() -> None:
    tags = _tag("Police in Surrey, England, said the road near Guildford was closed.")
    assert tags["syria"]["grade"] == 0
    assert not _places(tags, syrian=True)
    tags = _tag("أعلنت شرطة مقاطعة سوري البريطانية إغلاق الطريق قرب لندن.")
    assert tags["syria"]["grade"] == 0


def test_ras_al_ain_turkey_side() -> None:
    tags = _tag("زار الوزير التركي رأس العين في ولاية أورفا التركية وتفقد مشاريع الزراعة في تركيا.")
    assert not _places(tags, syrian=True)


def test_acronyms_are_case_sensitive() -> None:
    tags = _tag("The SDF said IS fighters withdrew from the town.")
    assert {"Syrian Democratic Forces", "Islamic State"} <= {a["name"] for a in tags["actors"]}
    tags = _tag("IT IS WHAT IT IS, SAID THE COACH.")
    assert tags["actors"] == []


def test_title_and_text_offsets() -> None:
    title = "غاراتٌ على إدلبَ"
    text = "Russian jets struck Idlib and Ma'arrat al-Nu'man on Tuesday."
    tags = _tag(text, title)
    _check_offsets(text, tags, title)
    idlib = next(p for p in tags["places"] if p["name"] == "Idlib")
    assert {ev["field"] for ev in idlib["evidence"]} == {"title", "text"}
    assert "Maarat al-Numan" in _places(tags)


def test_select_longest_keeps_the_longest_of_each_overlapping_run() -> None:
    import random

    from services.tag.matcher import Candidate, FoldedField, select_longest

    def reference(cands: list[Candidate]) -> list[tuple[str, int, int]]:
        # Longest first, then leftmost, over the whole field: the definition select_longest must keep.
        taken: list[Candidate] = []
        for c in sorted(cands, key=lambda c: (-c.length, c.start)):
            if all(c.field is not k.field or c.end <= k.start or k.end <= c.start for k in taken):
                taken.append(c)
        taken.sort(key=lambda c: (c.field.name != "title", c.start))
        return [(c.field.name, c.start, c.end) for c in taken]

    rng = random.Random(5)
    title, text = FoldedField("title", "x" * 60, "x" * 60, []), FoldedField("text", "x" * 60, "x" * 60, [])
    for _ in range(300):
        cands = []
        for _ in range(rng.randrange(12)):
            start = rng.randrange(55)
            cands.append(Candidate(rng.choice((title, text)), start, start + rng.randrange(1, 6), []))
        got = [(c.field.name, c.start, c.end) for c in select_longest(cands)]
        assert got == reference(cands)


def test_fold_offsets_survive_deleted_marks_anywhere() -> None:
    """Every folded character maps back to the original character it came from.

    Deleted characters (Arabic marks, format marks) are the only ones no folded offset points
    at; ASCII and non-ASCII text take different paths through the fold and must agree.
    """
    rng = random.Random(5)
    alphabet = ["a", "B", " ", "\n", "-", "’", "\u064e", "\u0651", "\u200f", "ة", "ر", "Ḥ", "\xa0", "\t", "'"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        folded, keys = fold_for_matching(text)
        used = set()
        for i, ch in enumerate(folded):
            j = to_original(keys, i)
            used.add(j)
            assert fold_for_matching(text[j])[0] == ch
        deleted = [text[j] for j in range(len(text)) if j not in used]
        assert all(c in "\u064e\u0651\u200f" for c in deleted)
        assert len(folded) + len(deleted) == len(text)
    assert fold_for_matching("Ar-Raqqa's\nDeir")[0] == fold_for_matching("ar Raqqa’s\xa0deir")[0] == "ar raqqa s deir"
