"""Relevance grades for asides: one sentence on Syria in a longer article about something else."""

from __future__ import annotations

from services.tag.handler import get_tagger

# Our own filler: a column about Saudi retail with no Syrian evidence, about 1,300 characters.
_FILLER_AR = (
    "تشهد أسواق التجزئة في المملكة نموا ملحوظا مع اقتراب موسم العودة إلى المدارس، إذ يتوقع التجار "
    "ارتفاع المبيعات بنسبة كبيرة مقارنة بالعام الماضي. ويقول أصحاب المحلات إن الإقبال يتركز على "
    "الملابس والقرطاسية والأجهزة الإلكترونية. "
) * 5
_FILLER_EN = (
    "Retail sales in the kingdom are expected to rise ahead of the school season, traders say. "
    "Shop owners report strong demand for clothes, stationery and laptops, while online orders keep growing. "
) * 6
_ASIDE_AR = "ويرى الكاتب أن الأسواق العربية تضررت من الحروب كما حدث في سوريا بعد أن دمر النظام السوري مدينة حلب. "
_ASIDE_EN = "Markets elsewhere suffered from war, as when the Syrian regime destroyed much of Aleppo. "


def _grade(text: str, title: str | None = None) -> int:
    return int(get_tagger().tag(title, text)["syria"]["grade"])


def test_one_sentence_past_the_lead_of_a_long_article_is_an_aside() -> None:
    assert _grade(_FILLER_AR + _ASIDE_AR + _FILLER_AR[:300], title="موسم العودة إلى المدارس") == 0
    assert _grade(_FILLER_EN + _ASIDE_EN + _FILLER_EN[:200], title="Back-to-school sales") == 0


def test_the_same_sentence_is_a_syrian_fact_in_a_brief_or_a_lead() -> None:
    assert _grade(_ASIDE_AR + "وقال التجار إن الطلب ما زال ضعيفا.") >= 1
    assert _grade(_ASIDE_AR + _FILLER_AR) >= 1  # the lead is about Syria
    assert _grade(_ASIDE_EN + "Traders said demand was still weak.") >= 1


def test_two_sentences_on_syria_are_a_passage() -> None:
    second = "وفي دمشق قال مسؤولون إن الحكومة السورية ستعيد فتح الأسواق القديمة. "
    assert _grade(_FILLER_AR + _ASIDE_AR + second + _FILLER_AR[:300]) >= 1


def test_a_country_in_another_is_not_a_list_of_countries() -> None:
    # "in" alone between two countries makes no list: US operations in Syria are a Syrian fact.
    text = (
        _FILLER_AR + "وانتقد الكاتب عمليات الولايات المتحدة في سورية. ورفضت واشنطن مقترحات لحماية المدنيين في سورية. "
    )
    assert _grade(text + _FILLER_AR[:300]) >= 1
    listed = _FILLER_AR + "وتعاني دول مثل العراق وسورية واليمن من الحروب. " + _FILLER_AR[:300]
    assert _grade(listed) == 0


def test_the_syrian_border_locates_a_place_abroad() -> None:
    # A Turkish town placed by its distance to the border: no Syrian fact, even in a short item.
    text = "وقع الانفجار في بلدة تركية قريبة من الحدود السورية. وأغلقت السلطات الطرق المؤدية إلى الحدود مع سوريا."
    assert _grade(text) == 0
    assert _grade("The blast hit a Turkish town near the Syrian border. Police closed the border with Syria.") == 0
    # The same item with a Syrian town in it is a Syrian fact.
    assert _grade("The blast hit a Turkish town near the Syrian border, opposite the Syrian town of Azaz.") >= 1


def test_a_title_naming_syria_beside_another_country_is_no_aside() -> None:
    body = _FILLER_AR + "وقال المتحدث إن التنظيم خسر مساحات واسعة في شمال سورية. " + _FILLER_AR[:300]
    assert _grade(body) == 0  # one sentence past the lead: an aside
    assert _grade(body, title="تقييم الضربات الجوية في العراق وسورية") >= 1


def test_a_syrian_actor_in_the_lead_and_syria_later_is_a_thread() -> None:
    lead = "قال الكاتب إن خطاب بشار الأسد الأخير كشف خطط التقسيم في المنطقة. "
    tail = "ويرى أن الحل يبدأ بعودة سوريا دولة موحدة. "
    assert _grade(lead + _FILLER_AR + tail + _FILLER_AR[:300], title="الخطة المضادة للتقسيم") >= 1
    # The same names in a row of leaders are a list, not the article's subject.
    listed = "قال الكاتب إن حسن نصر الله، وبشار الأسد، ونوري المالكي أطلقوا تصريحات متتالية. "
    assert _grade(listed + _FILLER_AR + tail + _FILLER_AR[:300], title="صقور وحمائم") == 0


def test_an_item_headed_by_syria_in_a_digest_is_a_passage() -> None:
    """A digest's item whose own headline names Syria, with Syria again below it: a Syrian passage."""
    item = "* Syria in the Cross Hairs\nA leaked plan would fund the opposition to the Damascus\n    government.\n"
    others = "* Retail in the Kingdom\n" + _FILLER_EN + "\n* School Season\n" + _FILLER_EN + "\n"
    assert _grade(others + item + others) >= 1
    # The same words inside a sentence of prose are no headline: one aside stays an aside.
    prose = "Markets suffered, as the leaked plan to fund the opposition to the Damascus government showed. "
    assert _grade(_FILLER_EN + prose + _FILLER_EN) == 0


def test_a_short_item_on_a_syrian_actor_abroad_is_syrian() -> None:
    """The Syrian government's delegation in Geneva is Syria news; Latakia tobacco from Cyprus is not."""
    assert _grade("The Assad regime will send a delegation to talks in Geneva next month, diplomats said.") >= 1
    assert _grade("English blends made with Latakia leaf are back after a maker found a supplier in Cyprus.") == 0
