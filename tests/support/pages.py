"""Realistic Arabic news pages built from real text, for the clean stage's tests.

The texts are real and read in place from ``../shared`` (never copied into the repo):
the seed article ``seed/article-ar.txt`` and SaudiNewsNet articles.  The page chrome
around them is ours: a few templates modelled on how Arabic news sites are built
(a modern portal with semantic HTML5, a legacy table layout as still served in
windows-1256, a WordPress-style div layout).  Every template carries the boilerplate
extraction must drop: navigation menu, breadcrumb line, the headline repeated in an
``<h2>``/``og:title``/related widget, share bar, related-articles list, cookie notice,
and a footer ending with the site's «الصفحات» links.

The seed text itself is a copy of a page as a reader saw it, boilerplate included:
line 1 is the breadcrumb («الصفحة الرئيسية / الوطن / <headline>»), then the headline
twice, then the paragraphs, then the trailing «الصفحات».  :func:`parse_seed` takes it
apart so each piece lands where it sat on the original page.
"""

from __future__ import annotations

import functools
import html
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.text.arabic import MONTHS_GREGORIAN, to_arabic_indic

__all__ = [
    "SEED_TITLE",
    "TEMPLATES",
    "Seed",
    "parse_seed",
    "saudinewsnet_articles",
    "seed_article_html",
    "shared_dir",
    "wrap_article",
]

TEMPLATES = ("portal", "blog", "legacy")

_REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """``$NEWSINGEST_SHARED_DIR``, or ``<repo>/../shared``."""
    return Path(os.environ.get("NEWSINGEST_SHARED_DIR", _REPO.parent / "shared")).resolve()


@dataclass(frozen=True)
class Seed:
    """The seed page taken apart: its boilerplate and its article."""

    breadcrumb: tuple[str, ...]
    headline: str
    paragraphs: tuple[str, ...]
    footer_heading: str


@functools.cache
def parse_seed() -> Seed:
    """Parse ``seed/article-ar.txt``: breadcrumb, headline (twice), paragraphs, footer."""
    lines = [ln.strip() for ln in (shared_dir() / "seed" / "article-ar.txt").read_text("utf-8").splitlines()]
    lines = [ln for ln in lines if ln]
    crumbs = tuple(part.strip() for part in lines[0].split("/") if part.strip())
    headline = lines[1]
    if lines[2] != headline or crumbs[-1] != headline:
        raise ValueError("seed layout changed: expected breadcrumb, headline, headline")
    return Seed(breadcrumb=crumbs, headline=headline, paragraphs=tuple(lines[3:-1]), footer_heading=lines[-1])


def SEED_TITLE() -> str:
    """The title a reader sees on the seed page (its headline line)."""
    return parse_seed().headline


@dataclass(frozen=True)
class _Page:
    site: _Site
    url: str
    title: str
    paragraphs: list[str]
    section: str
    published: str
    author: str | None
    footer_heading: str
    encoding: str

    def fields(self) -> tuple[_Site, str, str, list[str], str, str, str | None, str, str]:
        return (self.site, self.url, self.title, self.paragraphs, self.section, self.published,
                self.author, self.footer_heading, self.encoding)  # fmt: skip


@dataclass(frozen=True)
class _Site:
    name: str
    host: str
    sections: tuple[str, ...]


# Invented outlets; section names are the usual ones on Arabic news portals.
_SITES = {
    "portal": _Site("الوطن اليوم", "www.alwatan-alyawm.example", ("الوطن", "عربي ودولي", "اقتصاد", "رياضة", "ثقافة")),
    "legacy": _Site("جريدة الأفق", "www.alofok-news.example", ("محليات", "الوطن", "العالم", "آراء", "منوعات")),
    "blog": _Site("مدونة الشرق", "sharq-blog.example", ("أخبار", "الوطن", "تقارير", "حوارات")),
}

_RELATED = (
    "مجلس الأمن يناقش الوضع الإنساني في الشمال السوري",
    "ارتفاع أسعار النفط مع تراجع المخزونات الأميركية",
    "وزراء الخارجية العرب يجتمعون الأسبوع المقبل",
    "منتخب الشباب يتأهل إلى نهائي البطولة الآسيوية",
)
_FOOTER_LINKS = ("من نحن", "اتصل بنا", "سياسة الخصوصية", "شروط الاستخدام", "أعلن معنا", "خريطة الموقع")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _arabic_date(iso_date: str) -> str:
    year, month, day = iso_date[:10].split("-")
    return to_arabic_indic(f"{int(day)} {MONTHS_GREGORIAN[int(month) - 1]} {year}")


def wrap_article(
    title: str,
    paragraphs: list[str] | tuple[str, ...],
    *,
    template: str = "portal",
    encoding: str = "utf-8",
    section: str = "الوطن",
    published: str = "2017-08-06",
    author: str | None = None,
    path: str = "/news/2017/08/06/123456",
    footer_heading: str = "الصفحات",
) -> bytes:
    """Render an article inside one of our site templates, encoded as ``encoding``.

    The headline appears as the page's ``<h1>`` and again as boilerplate (``<title>``
    with the site name, ``og:title``, a breadcrumb, a second ``<h2>`` copy and the
    related-articles widget), as on real portals.
    """
    site = _SITES[template]
    url = f"https://{site.host}{path}"
    render = {"portal": _portal, "legacy": _legacy, "blog": _blog}[template]
    page = render(_Page(site, url, title, list(paragraphs), section, published, author, footer_heading, encoding))
    return page.encode(encoding, errors="xmlcharrefreplace")


def seed_article_html(template: str = "portal", encoding: str = "utf-8") -> bytes:
    """The seed article rendered in a realistic Arabic news template, as bytes.

    >>> seed_article_html("legacy", "windows-1256")[:15]
    b'<!DOCTYPE html '
    """
    seed = parse_seed()
    return wrap_article(
        seed.headline,
        seed.paragraphs,
        template=template,
        encoding=encoding,
        section=seed.breadcrumb[1] if len(seed.breadcrumb) > 2 else "الوطن",
        footer_heading=seed.footer_heading,
        author="المحرر السياسي",
    )


def _head(page: _Page) -> str:
    site, url, title, published, author, encoding = (
        page.site, page.url, page.title, page.published, page.author, page.encoding,
    )  # fmt: skip
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": title,
        "datePublished": f"{published}T09:30:00+03:00",
        "publisher": {"@type": "Organization", "name": site.name},
        "mainEntityOfPage": url,
        "image": f"https://{site.host}/uploads/2017/08/lead.jpg",
    }
    if author:
        ld["author"] = {"@type": "Person", "name": author}
    return f"""<head>
<meta charset="{encoding}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} | {_e(site.name)}</title>
<link rel="canonical" href="{_e(url)}">
<meta property="og:site_name" content="{_e(site.name)}">
<meta property="og:title" content="{_e(title)}">
<meta property="og:type" content="article">
<meta property="og:url" content="{_e(url)}">
<meta property="og:image" content="https://{site.host}/uploads/2017/08/lead.jpg">
<meta property="article:published_time" content="{published}T09:30:00+03:00">
<meta name="twitter:card" content="summary_large_image">
<link rel="stylesheet" href="/assets/css/main.css">
<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}gtag('js',new Date());</script>
</head>"""


def _nav_items(site: _Site) -> str:
    items = ["الرئيسية", *site.sections, "فيديو", "كاريكاتير"]
    return "".join(f'<li><a href="/section/{i}">{_e(s)}</a></li>' for i, s in enumerate(items))


def _related_items(title: str) -> str:
    items = [title, *_RELATED]
    return "".join(
        f'<li><a href="/news/{i}"><img src="/thumb/{i}.jpg" alt="">{_e(s)}</a></li>' for i, s in enumerate(items)
    )


def _share() -> str:
    return "".join(
        f'<a href="#" class="share-{n}">{s}</a>' for n, s in (("fb", "فيسبوك"), ("tw", "تويتر"), ("wa", "واتساب"))
    )


def _footer_links() -> str:
    return "".join(f'<li><a href="/page/{i}">{_e(s)}</a></li>' for i, s in enumerate(_FOOTER_LINKS))


def _portal(page: _Page) -> str:
    site, _url, title, paragraphs, section, published, author, footer_heading, _encoding = page.fields()
    body = "\n".join(f"<p>{_e(p)}</p>" for p in paragraphs)
    byline = f'<span class="author">{_e(author)}</span>' if author else ""
    return f"""<!DOCTYPE html>
<html lang="ar" dir="rtl">
{_head(page)}
<body class="single-article">
<div id="cookie-notice" class="cookie-banner">يستخدم هذا الموقع ملفات تعريف الارتباط لتحسين تجربتك. <button>موافق</button></div>
<header class="site-header">
 <div class="topbar"><span class="date">{_arabic_date(published)}</span> <a href="/login">تسجيل الدخول</a></div>
 <a class="logo" href="/"><img src="/assets/logo.png" alt="{_e(site.name)}"></a>
 <nav class="main-menu"><ul>{_nav_items(site)}</ul></nav>
</header>
<main>
<nav class="breadcrumb" aria-label="breadcrumb"><a href="/">الصفحة الرئيسية</a>  /  <a href="/section/1">{_e(section)}</a> /  <span>{_e(title)}</span></nav>
<article class="article">
 <header class="article-header">
  <h1 class="article-title">{_e(title)}</h1>
  <div class="meta">{byline} <time datetime="{published}T09:30:00+03:00">{_arabic_date(published)}</time></div>
  <div class="share-bar">{_share()}</div>
 </header>
 <figure class="lead-image"><img src="https://{site.host}/uploads/2017/08/lead.jpg" alt=""></figure>
 <h2 class="article-subtitle">{_e(title)}</h2>
 <div class="article-body">
{body}
 </div>
 <div class="tags"><a href="/tag/1">سوريا</a> <a href="/tag/2">روسيا</a></div>
 <div class="share-bar bottom">{_share()}</div>
</article>
<aside class="related"><h3>اقرأ أيضاً</h3><ul>{_related_items(title)}</ul></aside>
</main>
<aside class="sidebar"><h3>الأكثر قراءة</h3><ol>{_related_items(title)}</ol></aside>
<footer class="site-footer">
 <p>جميع الحقوق محفوظة © {_e(site.name)} 2017</p>
 <h4>{_e(footer_heading)}</h4><ul>{_footer_links()}</ul>
</footer>
<script src="/assets/js/app.js"></script>
</body>
</html>"""


def _legacy(page: _Page) -> str:
    site, url, title, paragraphs, section, published, author, footer_heading, encoding = page.fields()
    body = "<br><br>\n".join(_e(p) for p in paragraphs)
    menu = " | ".join(f'<a href="/cat.asp?id={i}" class="menu">{_e(s)}</a>' for i, s in enumerate(site.sections))
    related = "".join(
        f'<tr><td class="rel"><a href="/news.asp?id={i}">{_e(s)}</a></td></tr>'
        for i, s in enumerate([title, *_RELATED])
    )
    links = " - ".join(f'<a href="/page.asp?id={i}">{_e(s)}</a>' for i, s in enumerate(_FOOTER_LINKS))
    byline = f'<font class="writer">{_e(author)}</font><br>' if author else ""
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html dir="rtl" lang="ar">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={encoding}">
<title>{_e(site.name)} - {_e(title)}</title>
<link rel="canonical" href="{_e(url)}">
<meta property="og:title" content="{_e(title)}">
<meta name="description" content="{_e(paragraphs[0][:150])}">
</head>
<body bgcolor="#ffffff" topmargin="0">
<table width="980" align="center" cellpadding="0" cellspacing="0" border="0">
<tr><td colspan="2" class="top"><img src="/images/banner.gif" alt="{_e(site.name)}"><br>{menu}</td></tr>
<tr><td colspan="2" class="path"><a href="/">الصفحة الرئيسية</a>  /  <a href="/cat.asp?id=1">{_e(section)}</a> /  {_e(title)}</td></tr>
<tr>
<td width="200" valign="top" class="side">
 <table width="100%"><tr><td class="boxtitle">أخبار ذات صلة</td></tr>{related}</table>
 <table width="100%"><tr><td class="boxtitle">القائمة البريدية</td></tr><tr><td><form><input name="email"><input type="submit" value="اشترك"></form></td></tr></table>
</td>
<td valign="top" class="content">
 <table width="100%" cellpadding="6">
 <tr><td class="newstitle"><h1>{_e(title)}</h1></td></tr>
 <tr><td class="newsdate">{byline}نشر بتاريخ: {_arabic_date(published)}</td></tr>
 <tr><td><h2 class="subtitle">{_e(title)}</h2></td></tr>
 <tr><td class="newstext">
{body}
 </td></tr>
 <tr><td class="tools"><a href="#">طباعة</a> | <a href="#">إرسال لصديق</a> | {_share()}</td></tr>
 </table>
</td>
</tr>
<tr><td colspan="2" class="bottom" align="center">جميع الحقوق محفوظة لـ {_e(site.name)}<br><b>{_e(footer_heading)}</b><br>{links}</td></tr>
</table>
</body>
</html>"""


def _blog(page: _Page) -> str:
    site, _url, title, paragraphs, section, published, author, footer_heading, _encoding = page.fields()
    body = "\n".join(f"<p>{_e(p)}</p>" for p in paragraphs)
    byline = f'<span class="byline">بقلم <a rel="author" href="/author/1">{_e(author)}</a></span>' if author else ""
    return f"""<!DOCTYPE html>
<html dir="rtl" lang="ar">
{_head(page)}
<body class="post-template-default single single-post">
<div id="page" class="site">
<div class="gdpr-consent">نحن نستخدم ملفات الكوكيز. بمتابعة التصفح فإنك توافق على <a href="/privacy">سياسة الخصوصية</a>.</div>
<div class="site-branding"><p class="site-title"><a href="/">{_e(site.name)}</a></p></div>
<div id="site-navigation" class="main-navigation"><ul class="menu">{_nav_items(site)}</ul></div>
<div id="content" class="site-content">
<div id="primary" class="content-area">
<div class="breadcrumbs"><span><a href="/">الصفحة الرئيسية</a></span>  /  <span><a href="/category/1">{_e(section)}</a></span> /  <span class="current">{_e(title)}</span></div>
<div class="post type-post status-publish format-standard hentry">
 <div class="entry-header">
  <h1 class="entry-title">{_e(title)}</h1>
  <div class="entry-meta">{byline} <span class="posted-on">{_arabic_date(published)}</span></div>
 </div>
 <div class="entry-content">
  <h2>{_e(title)}</h2>
{body}
  <div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">شارك هذا:</h3>{_share()}</div>
  <div class="jp-relatedposts"><h3 class="jp-relatedposts-headline">مقالات ذات صلة</h3><ul>{_related_items(title)}</ul></div>
 </div>
</div>
<div class="comments-area"><h3>اترك تعليقاً</h3><form><textarea></textarea><input type="submit" value="إرسال"></form></div>
</div>
<div id="secondary" class="widget-area"><div class="widget"><h2 class="widget-title">أحدث المقالات</h2><ul>{_related_items(title)}</ul></div></div>
</div>
<div id="colophon" class="site-footer">
 <div class="widget"><h2 class="widget-title">{_e(footer_heading)}</h2><ul>{_footer_links()}</ul></div>
 <div class="site-info">© {_e(site.name)}</div>
</div>
</div>
</body>
</html>"""


@functools.cache
def saudinewsnet_articles(limit: int = 200, per_source: int | None = None) -> tuple[dict[str, Any], ...]:
    """Up to ``limit`` articles of one SaudiNewsNet day with a title and two paragraphs.

    ``per_source`` caps the articles taken from each outlet, to mix their styles.
    """
    archive = shared_dir() / "data" / "saudinewsnet" / "saudinewsnet-dev.tar.xz"
    with tarfile.open(archive, "r:xz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".json"):
                fh = tar.extractfile(member)
                if fh is None:
                    continue
                items = json.load(fh)
                break
        else:
            raise FileNotFoundError(f"no JSON member in {archive}")
    picked = []
    taken: dict[str, int] = {}
    for item in items:
        paragraphs = [p.strip() for p in item.get("content", "").split("\n") if p.strip()]
        source = item.get("source", "")
        if per_source is not None and taken.get(source, 0) >= per_source:
            continue
        if item.get("title") and len(paragraphs) >= 2:
            taken[source] = taken.get(source, 0) + 1
            picked.append({**item, "paragraphs": paragraphs})
        if len(picked) >= limit:
            break
    return tuple(picked)
