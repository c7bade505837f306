"""HTML templates of the demo outlets: three deliberately different page layouts.

Real news pages bury the article in navigation, breadcrumbs, share bars, related-article
widgets, cookie notices and footers; the cleaning stage must learn to drop all of that.
So each outlet gets its own markup (class names, nesting, date style), the Arabic ones
right-to-left with a «الصفحات» footer block like the project's seed page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import quote

from services.demo.content import Article, Outlet, outlet_tz
from services.text.arabic import MONTHS_GREGORIAN, MONTHS_LEVANT

__all__ = ["Alternate", "Link", "format_date", "render_article", "render_listing", "render_static"]

_MONTHS: dict[str, Sequence[str]] = {
    "levant": MONTHS_LEVANT,
    "gregorian": MONTHS_GREGORIAN,
    "english": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}
_WEEKDAYS_AR = ["الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]

_DEMO_NOTE = {
    "ar": "موقع تجريبي لمشروع newsingest: جميع الأخبار والأسماء فيه متخيّلة لأغراض الاختبار.",
    "en": "Demo site for the newsingest project: every story and name here is invented for testing.",
}


@dataclass(frozen=True, slots=True)
class Link:
    """A labelled link (navigation, breadcrumb, related article)."""

    label: str
    href: str


@dataclass(frozen=True, slots=True)
class Alternate:
    """A ``<link rel="alternate">`` for feed autodiscovery."""

    mime: str
    title: str
    href: str


def format_date(outlet: Outlet, when: datetime) -> str:
    """The date as the outlet prints it, in the outlet's own time zone.

    >>> # ar-daily: "الأحد 22 تشرين الثاني 2026 - 11:40"; wire: "November 22, 2026 8:40 AM UTC"
    """
    local = when.astimezone(outlet_tz(outlet))
    month = _MONTHS[outlet.month_names][local.month - 1]
    if outlet.month_names == "levant":
        return f"{_WEEKDAYS_AR[local.weekday()]} {local.day} {month} {local.year} - {local:%H:%M}"
    if outlet.month_names == "gregorian":
        suffix = "ص" if local.hour < 12 else "م"
        return f"{local.day} {month} {local.year} | {local.hour % 12 or 12:02d}:{local:%M} {suffix}"
    zone = "UTC" if outlet.utc_offset in {"+00:00", "Z"} else f"GMT{outlet.utc_offset}"
    return f"{month} {local.day}, {local.year} {local.hour % 12 or 12}:{local:%M} {local:%p} {zone}"


def _json_ld(data: object) -> str:
    # "</" inside a script element would end it early.
    return json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")


def _head(outlet: Outlet, title: str, canonical: str, alternates: Sequence[Alternate], extra: str) -> str:
    alt = "\n".join(
        f'<link rel="alternate" type="{a.mime}" title="{escape(a.title)}" href="{escape(a.href)}">' for a in alternates
    )
    return f"""<head>
<meta charset="{outlet.charset}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="canonical" href="{escape(canonical)}">
{alt}
<meta property="og:site_name" content="{escape(outlet.name)}">
<meta property="og:locale" content="{"ar_AR" if outlet.language == "ar" else "en_GB"}">
{extra}<link rel="stylesheet" href="/{outlet.id}/static/site.css">
<script>window.dataLayer=window.dataLayer||[];dataLayer.push({{"site":"{outlet.id}","lang":"{outlet.language}"}});</script>
<noscript><style>.cookie-consent,#cookie-bar,#consent-banner{{display:none}}</style></noscript>
</head>"""


def _article_meta(outlet: Outlet, a: Article, url: str) -> str:
    published = a.published.isoformat()
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a.title,
        "description": a.summary,
        "datePublished": published,
        "dateModified": published,
        "inLanguage": outlet.language,
        "articleSection": outlet.section_label(a.section),
        "keywords": list(a.tags),
        "author": [{"@type": "Person", "name": a.author}],
        "publisher": {"@type": "Organization", "name": outlet.name},
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
    }
    return f"""<meta name="description" content="{escape(a.summary)}">
<meta name="author" content="{escape(a.author)}">
<meta property="og:type" content="article">
<meta property="og:title" content="{escape(a.title)}">
<meta property="og:description" content="{escape(a.summary)}">
<meta property="og:url" content="{escape(url)}">
<meta property="article:published_time" content="{published}">
<meta property="article:author" content="{escape(a.author)}">
<meta property="article:section" content="{escape(outlet.section_label(a.section))}">
{"".join(f'<meta property="article:tag" content="{escape(t)}">' + chr(10) for t in a.tags)}\
<meta name="twitter:card" content="summary_large_image">
<script type="application/ld+json">{_json_ld(ld)}</script>
"""


def _share_bar(url: str, title: str, cls: str, label: str) -> str:
    u, t = quote(url, safe=""), quote(title, safe="")
    return f"""<div class="{cls}"><span>{label}</span>
<a href="https://www.facebook.com/sharer/sharer.php?u={u}" rel="nofollow noopener">Facebook</a>
<a href="https://twitter.com/intent/tweet?url={u}&amp;text={t}" rel="nofollow noopener">X</a>
<a href="https://api.whatsapp.com/send?text={t}%20{u}" rel="nofollow noopener">WhatsApp</a>
<a href="mailto:?subject={t}&amp;body={u}">Email</a>
</div>"""


def _note(outlet: Outlet) -> str:
    return outlet.footer_note or _DEMO_NOTE[outlet.language]


def _links(items: Sequence[Link], sep: str = "\n") -> str:
    return sep.join(f'<li><a href="{escape(i.href)}">{escape(i.label)}</a></li>' for i in items)


def _pages_block(outlet: Outlet) -> str:
    return _links([Link(label, f"{outlet.prefix}page/{slug}.html") for slug, label in outlet.pages])


def _nav(outlet: Outlet) -> list[Link]:
    home = "الرئيسية" if outlet.language == "ar" else "Home"
    return [Link(home, outlet.prefix)] + [Link(label, f"{outlet.prefix}section/{s}/") for s, label in outlet.sections]


# --- the three layouts --------------------------------------------------------------


def _layout_ar_daily(outlet: Outlet, crumbs: Sequence[Link], main: str, aside: str) -> str:
    crumb = " &raquo; ".join(f'<a href="{escape(c.href)}">{escape(c.label)}</a>' for c in crumbs[:-1])
    last = escape(crumbs[-1].label) if crumbs else ""
    return f"""<div id="wrapper">
<div id="top-bar"><a href="{outlet.prefix}page/contact.html">اتصل بنا</a> | <a href="{outlet.feed_path}">RSS</a></div>
<div id="header"><a class="logo" href="{outlet.prefix}">{escape(outlet.name)}</a>
<span class="slogan">{escape(outlet.tagline)}</span></div>
<ul id="main-menu">{_links(_nav(outlet))}</ul>
<div id="breadcrumb">{crumb}{" &raquo; " if crumb else ""}<span>{last}</span></div>
<table id="layout" width="100%"><tr>
<td id="content" class="col-right" valign="top">{main}</td>
<td id="sidebar" valign="top">{aside}
<div class="box ads"><div class="ad-slot">إعلان</div></div></td>
</tr></table>
<div id="footer">
<div class="pages"><h4>الصفحات</h4><ul>{_pages_block(outlet)}</ul></div>
<div class="sections"><h4>الأقسام</h4><ul>{_links(_nav(outlet)[1:])}</ul></div>
<p class="demo-note">{escape(_note(outlet))}</p>
<p class="copyright">جميع الحقوق محفوظة &copy; 2026 {escape(outlet.name)}</p>
</div>
<div id="cookie-bar">يستخدم هذا الموقع ملفات تعريف الارتباط (الكوكيز) لتحسين تجربتك.
<a href="{outlet.prefix}page/privacy.html">اعرف المزيد</a> <button type="button">موافق</button></div>
</div>"""


def _layout_ofoq(outlet: Outlet, crumbs: Sequence[Link], main: str, aside: str) -> str:
    crumb = "".join(
        f'<li class="breadcrumb-item"><a href="{escape(c.href)}">{escape(c.label)}</a></li>' for c in crumbs[:-1]
    )
    last = f'<li class="breadcrumb-item active" aria-current="page">{escape(crumbs[-1].label)}</li>' if crumbs else ""
    return f"""<header class="site-header">
<div class="brand"><a href="{outlet.prefix}"><strong>{escape(outlet.name)}</strong></a> <em>{escape(outlet.tagline)}</em></div>
<nav class="navbar" aria-label="القائمة الرئيسية"><ul class="nav">{_links(_nav(outlet))}</ul>
<form class="search" action="{outlet.prefix}search" role="search"><input name="q" placeholder="ابحث..."></form></nav>
<div class="ticker"><span>عاجل</span> تابعوا تغطيتنا المستمرة على مدار الساعة</div>
</header>
<main class="container">
<nav aria-label="breadcrumb"><ol class="breadcrumb">{crumb}{last}</ol></nav>
<div class="row"><div class="col-main">{main}</div>
<aside class="col-side">{aside}
<div class="newsletter"><h3>النشرة البريدية</h3><p>اشترك ليصلك ملخص الأخبار كل صباح.</p></div></aside></div>
</main>
<footer class="site-footer">
<div class="footer-col"><h4>الأقسام</h4><ul>{_links(_nav(outlet)[1:])}</ul></div>
<div class="footer-col pages"><h4>الصفحات</h4><ul>{_pages_block(outlet)}</ul></div>
<div class="footer-col"><h4>تابعونا</h4><ul><li><a href="https://www.facebook.com/">فيسبوك</a></li>
<li><a href="https://t.me/">تلغرام</a></li><li><a href="{outlet.feed_path}">خلاصة الأخبار</a></li></ul></div>
<p class="demo-note">{escape(_note(outlet))}</p>
<p class="copy">&copy; 2026 {escape(outlet.name)}. جميع الحقوق محفوظة.</p>
</footer>
<div class="cookie-consent" role="dialog" aria-live="polite"><p>نستخدم ملفات الارتباط لتحليل الزيارات وتخصيص المحتوى.</p>
<button class="accept">قبول الكل</button> <a href="{outlet.prefix}page/privacy.html">الإعدادات</a></div>"""


def _layout_wire(outlet: Outlet, crumbs: Sequence[Link], main: str, aside: str) -> str:
    crumb = "".join(
        f'<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">'
        f'<a itemprop="item" href="{escape(c.href)}"><span itemprop="name">{escape(c.label)}</span></a>'
        f'<meta itemprop="position" content="{i}"></li>'
        for i, c in enumerate(crumbs[:-1], start=1)
    )
    return f"""<a class="skip-link" href="#main-content">Skip to main content</a>
<header class="masthead"><a class="wordmark" href="{outlet.prefix}">{escape(outlet.name)}</a>
<span class="strap">{escape(outlet.tagline)}</span>
<a class="signin" href="{outlet.prefix}page/about.html">Sign in</a></header>
<nav class="primary-nav" aria-label="Sections"><ul>{_links(_nav(outlet))}</ul></nav>
<ol class="breadcrumbs" itemscope itemtype="https://schema.org/BreadcrumbList">{crumb}</ol>
<div id="main-content" class="page-grid"><div class="primary">{main}</div>
<div class="secondary">{aside}</div></div>
<footer class="site-footer"><nav aria-label="Footer"><ul>{_pages_block(outlet)}
<li><a href="{outlet.feed_path}">Feed</a></li></ul></nav>
<p class="demo-note">{escape(_note(outlet))}</p>
<p class="legal">&copy; 2026 {escape(outlet.name)}. All rights reserved.</p></footer>
<div id="consent-banner" class="cookie-banner"><p>We use cookies to keep this site working and to measure
audiences. See our <a href="{outlet.prefix}page/privacy.html">cookie policy</a>.</p>
<button id="accept-cookies">Accept all</button><button id="reject-cookies">Reject all</button></div>"""


_LAYOUTS: dict[str, Callable[[Outlet, Sequence[Link], str, str], str]] = {
    "ar-daily": _layout_ar_daily,
    "ofoq": _layout_ofoq,
    "wire": _layout_wire,
}


def _document(
    outlet: Outlet,
    *,
    title: str,
    canonical: str,
    alternates: Sequence[Alternate],
    crumbs: Sequence[Link],
    main: str,
    aside: str,
    head_extra: str = "",
) -> str:
    body = _LAYOUTS[outlet.style](outlet, crumbs, main, aside)
    return (
        f'<!DOCTYPE html>\n<html lang="{outlet.language}" dir="{outlet.direction}">\n'
        f"{_head(outlet, title, canonical, alternates, head_extra)}\n"
        f'<body class="{outlet.style}">\n{body}\n</body>\n</html>\n'
    )


def _related(outlet: Outlet, related: Sequence[Link]) -> str:
    heading = {"ar-daily": "أخبار ذات صلة", "ofoq": "اقرأ أيضاً", "wire": "Read next"}[outlet.style]
    return f'<div class="box related"><h3>{heading}</h3><ul>{_links(related)}</ul></div>'


def render_article(
    outlet: Outlet,
    article: Article,
    *,
    url: str,
    alternates: Sequence[Alternate],
    related: Sequence[Link],
) -> str:
    """A full article page: chrome of the outlet around headline, byline, date and body."""
    e = escape
    section = outlet.section_label(article.section)
    crumbs = [_nav(outlet)[0]]
    if article.section in dict(outlet.sections):
        crumbs.append(Link(section, f"{outlet.prefix}section/{article.section}/"))
    crumbs.append(Link(article.title, url))
    date = format_date(outlet, article.published)
    iso = article.published.isoformat()
    paragraphs = "\n".join(f"<p>{e(p, quote=False)}</p>" for p in article.paragraphs)
    tags = ", ".join(e(t) for t in article.tags)
    if outlet.style == "ar-daily":
        main = f"""<div class="article-box">
<h1 class="title">{e(article.title)}</h1>
<div class="meta">بقلم: <span class="author">{e(article.author)}</span> | <span class="date">{date}</span></div>
{_share_bar(url, article.title, "share", "شارك:")}
<div class="article-text">{paragraphs}</div>
<div class="tags">الكلمات المفتاحية: {tags}</div>
<div class="print"><a href="javascript:window.print()">طباعة</a> | <a href="#top">أعلى الصفحة</a></div>
</div>"""
    elif outlet.style == "ofoq":
        category = (
            f'<a class="category" href="{outlet.prefix}section/{article.section}/">{e(section)}</a>'
            if article.section in dict(outlet.sections)
            else ""
        )
        main = f"""<article class="post">
<header>{category}
<h1 class="post-title">{e(article.title)}</h1>
<div class="post-meta"><span class="by">كتب: <a rel="author" href="{outlet.prefix}">{e(article.author)}</a></span>
<time datetime="{iso}">نُشر في: {date}</time></div></header>
{_share_bar(url, article.title, "share-bar", "مشاركة")}
<div class="post-body">{paragraphs}</div>
<footer class="post-tags">{"".join(f'<span class="tag">{e(t)}</span>' for t in article.tags)}</footer>
</article>"""
    else:
        main = f"""<article class="story">
<div class="headline-block"><span class="kicker">{e(section)}</span>
<h1 class="headline">{e(article.title)}</h1>
<p class="byline">By <a class="author-name" href="{outlet.prefix}page/about.html">{e(article.author)}</a></p>
<p class="timestamp"><time datetime="{iso}">{date}</time></p></div>
{_share_bar(url, article.title, "share-tools", "Share")}
<div class="article-body">{paragraphs}</div>
<aside class="trust-note">Our Standards: <a href="{outlet.prefix}page/trust-principles.html">Trust Principles</a>.</aside>
</article>"""
    return _document(
        outlet,
        title=f"{article.title} | {outlet.name}",
        canonical=url,
        alternates=alternates,
        crumbs=crumbs,
        main=main,
        aside=_related(outlet, related),
        head_extra=_article_meta(outlet, article, url),
    )


def render_listing(
    outlet: Outlet,
    *,
    heading: str,
    url: str,
    items: Sequence[tuple[Article, str]],
    alternates: Sequence[Alternate],
    crumbs: Sequence[Link],
) -> str:
    """A front page or section page: headlines with date and lead, newest first."""
    if items:
        rows = "\n".join(
            f'<li class="teaser"><a href="{escape(href)}">{escape(a.title)}</a>'
            f' <span class="date">{format_date(outlet, a.published)}</span>'
            f'<p class="lead">{escape(a.summary)}</p></li>'
            for a, href in items
        )
    else:
        rows = '<li class="empty">' + ("لا توجد أخبار بعد." if outlet.language == "ar" else "No stories yet.") + "</li>"
    main = f'<h1 class="listing-title">{escape(heading)}</h1>\n<ul class="teasers">{rows}</ul>'
    return _document(
        outlet,
        title=f"{heading} | {outlet.name}",
        canonical=url,
        alternates=alternates,
        crumbs=crumbs,
        main=main,
        aside="",
    )


def render_static(outlet: Outlet, *, label: str, url: str, alternates: Sequence[Alternate]) -> str:
    """A footer page (about, contact, privacy...): short boilerplate text."""
    text = _note(outlet)
    return _document(
        outlet,
        title=f"{label} | {outlet.name}",
        canonical=url,
        alternates=alternates,
        crumbs=[_nav(outlet)[0], Link(label, url)],
        main=f'<h1 class="page-title">{escape(label)}</h1>\n<p>{escape(text)}</p>',
        aside="",
    )
