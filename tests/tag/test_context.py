"""Context rules: bare surnames, names qualified abroad, stop phrases, glued clitics, shared rivers."""

from __future__ import annotations

from typing import Any

from services.tag.handler import get_tagger


def _tag(text: str, title: str | None = None) -> dict[str, Any]:
    return get_tagger().tag(title, text)


def _names(tags: dict[str, Any], group: str) -> set[str]:
    return {x["name"] for x in tags[group]}


def _syrian_places(tags: dict[str, Any]) -> set[str]:
    return {p["name"] for p in tags["places"] if p["syrian"]}


def test_bare_surname_needs_the_full_name() -> None:
    # «الأسد» is "the lion" unless the article names Bashar al-Assad in full somewhere.
    lion = _tag("أثار مقتل الأسد سيسيل في حديقة بزيمبابوي غضبا واسعا، وقال حراس الحديقة إن الأسد كان مشهورا.")
    assert "Bashar al-Assad" not in _names(lion, "actors")
    assert lion["syria"]["grade"] == 0
    assad = _tag("ألقى بشار الأسد خطابا في دمشق، وقال الأسد إن الجيش سيواصل القتال في سوريا.")
    gov = next(a for a in assad["actors"] if a["name"] == "Bashar al-Assad")
    assert gov["count"] == 2


def test_name_qualified_abroad_holds_for_the_whole_article() -> None:
    tags = _tag(
        "Flash floods hit the town of Damascus, Virginia, on Saturday. Damascus officials closed the trail.",
        title="Floods in Damascus",
    )
    assert not _syrian_places(tags)
    assert tags["syria"]["grade"] == 0


def test_stop_phrases_tag_nothing() -> None:
    tags = _tag("The Syrian hamster is a good first pet. Add Aleppo pepper to the stew for warmth.")
    assert tags["places"] == []
    assert tags["syria"]["grade"] == 0


def test_glued_clitic_on_a_short_name_needs_support() -> None:
    # «فاطمة» is a first name, not ف + «اطمة» (Atmeh).
    tags = _tag("تحدثت فاطمة عن رحلتها إلى الرياض.")
    assert not _syrian_places(tags)


def test_shared_river_takes_the_country_of_the_article() -> None:
    iraq = _tag("Farmers in Anbar and near Ramadi in Iraq say the Euphrates is at a record low, Iraqi officials said.")
    euphrates = next(p for p in iraq["places"] if p["name"] == "Euphrates")
    assert euphrates["country"] == "IQ"
    assert not euphrates["syrian"]
    syria = _tag("The SDF crossed the Euphrates near Deir ez-Zor and Raqqa in Syria.")
    assert next(p for p in syria["places"] if p["name"] == "Euphrates")["syrian"]


def test_arabic_presentation_forms_match_with_original_offsets() -> None:
    text = "ﻓﺠﺮ ﻧﻔﺴﻪ ﺑﺴﻮﺭﻳﺎ أمس"
    tags = _tag(text)
    syria = next(p for p in tags["places"] if p["name"] == "Syria")
    ev = syria["evidence"][0]
    assert text[ev["start"] : ev["end"]] == ev["text"]
    assert ev["text"].endswith("ﻳﺎ")


def test_foreign_homonym_resolved_by_context() -> None:
    # Jericho in a Palestinian story, Ariha in an Idlib story: the same Arabic name.
    ps = _tag("اقتحمت قوة إسرائيلية مدينة أريحا في الضفة الغربية واعتقلت فلسطينيين اثنين.")
    assert "Jericho" in _names(ps, "places")
    assert not _syrian_places(ps)
    sy = _tag("قصفت طائرات النظام السوري مدينة أريحا في ريف إدلب.")
    assert "Ariha" in _syrian_places(sy)


def test_person_named_like_syria_holds_for_the_whole_article() -> None:
    # Our own sports brief: once the striker is named in full, the bare «سوريا» is him.
    tags = _tag(
        "أعلن نادي الريان ضم المهاجم سيباستيان سوريا لموسم واحد. وبدأ سوريا مسيرته في الأوروغواي.",
        title="الريان يضم سوريا",
    )
    assert not _syrian_places(tags)
    assert tags["syria"]["grade"] == 0
    assert "Syria" in _syrian_places(_tag("وصل وفد نادي الريان إلى سوريا لبحث التعاون."))


def test_origin_is_background() -> None:
    tags = _tag("The Aleppo-born architect won the prize for a library in Oslo.", title="Oslo library wins award")
    assert tags["syria"]["grade"] == 0
    assert _tag("قال الطبيب الأمريكي من أصل سوري إن المستشفى سيفتتح في نيويورك.")["syria"]["grade"] == 0
