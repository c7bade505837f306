"""trafilatura's main extractor (``extract_content``), same output, less Python per element.

Most of trafilatura's time on a page goes to the section pruning it runs on the
article's frame and, when that yields too little, again on the whole page
(``prune_unwanted_sections``): XPaths whose ``re:test`` calls back into Python for a
regex on every element, and six link-density passes that test every ``div``, list and
paragraph.  This module runs the same stages with three equivalent shortcuts:

- **Regex markers.**  Every ``re:test(@attr, 'pattern')`` of trafilatura's content
  XPaths (:data:`~trafilatura.xpaths.BODY_XPATH`, ``OVERALL_DISCARD_XPATH``; and, for
  the raw tree, its raw-tree prunes and ``basic_cleaning``) becomes a test for a marker
  attribute; :func:`mark` (:func:`mark_raw`) sets the markers once per tree, running
  each regex once per distinct attribute value, after an Aho-Corasick scan for the
  literals every match needs, instead of once per element and XPath.
  The rest of each XPath (tag tests, ``contains``) still runs in libxml2, on the live
  tree, so the elements it selects are the ones trafilatura's XPath selects.  Markers
  stay true to their element: trafilatura never rewrites a ``class``, ``id`` or
  ``style`` in place (it clears all attributes at once, markers included), and copies
  carry them along.
- **Tags collected, not tested.**  ``.//*[self::div or self::p ...]`` becomes
  ``(.//div|.//p ...)``, and a test that only reads attributes skips elements without
  any (``[@*]``): libxml2 does either several times faster, same elements, same order.
- **Link density only where there are links.**  trafilatura's ``link_density_test``
  returns at once for an element without a ``<ref>`` below it; here only elements
  above a ``<ref>`` are tested.  The second round of passes re-tests only elements
  whose outcome the first round's deletions could change (their subtree or their
  next sibling changed); every other element kept in the first round is kept again.

The stage functions are trafilatura's own (``handle_textelem``, ``link_density_test``
and the rest, imported); the orchestration below follows trafilatura 2.3.1's
``main_extractor`` line by line (Apache-2.0).  ``tests/clean/test_mainpass.py`` checks
that the output equals trafilatura's ``extract_content`` on real pages, so an upgrade
of trafilatura that changes these stages fails there rather than drifting silently.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from copy import deepcopy
from itertools import accumulate
from re import _constants, _parser  # type: ignore[attr-defined]
from typing import Any

import ahocorasick
from lxml.etree import Element, XPath, _Element, strip_elements, strip_tags
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import link_density_test, link_density_test_tables, process_node
from trafilatura.main_extractor import (
    NOT_AT_THE_END,
    REBUILT_BLOCKS,
    _elem_text,
    handle_textelem,
)
from trafilatura.settings import (
    BASIC_CLEAN_XPATH,
    DEDUPE_SCAN_CAP,
    INLINE_FORMATTABLE,
    MIN_DUPLICATE_LENGTH,
    TAG_CATALOG,
    Extractor,
)
from trafilatura.utils import SPACING_PROTECTED, text_chars_test, trim
from trafilatura.xml import delete_element
from trafilatura.xpaths import (
    BODY_XPATH,
    DISCARD_IMAGE_ELEMENTS,
    OVERALL_DISCARD_XPATH,
    PRECISION_DISCARD_XPATH,
    RAW_TREE_PRUNE_XPATH,
    REMOVE_COMMENTS_AND_LISTS_XPATH,
    TEASER_DISCARD_XPATH,
)

__all__ = ["basic_cleaning", "extract_content", "mark", "mark_raw", "prune_raw_tree"]

# re:test(@a|@b, 'pattern'[, 'flags']): lxml tests the string value of the node set,
# i.e. the first of those attributes in the element's attribute order ('' if none).
_RE_TEST = re.compile(r"re:test\(\s*(@[\w-]+(?:\s*\|\s*@[\w-]+)*)\s*,\s*'([^']*)'\s*(?:,\s*'([a-z]*)'\s*)?\)")


_REGEXP_NS = "http://exslt.org/regular-expressions"
_TAG_TEST = re.compile(r"\.//\*\[\s*(self::\w+(?:\s+or\s+self::\w+)*)\s*\]")
_SELF_TAG = re.compile(r"self::(\w+)")
_ATTRIBUTE_TERM = re.compile(r"\s*(?:@|(?:contains|starts-with)\((?:translate\()?@)")


def _unionize(path: str) -> str:
    """``.//*[self::a or self::b]`` -> ``(.//a|.//b)``: libxml2 collects elements by tag
    several times faster than it tests each element's tag (same elements, same order)."""
    return _TAG_TEST.sub(lambda m: "(" + "|".join(f".//{t}" for t in _SELF_TAG.findall(m.group(1))) + ")", path)


def _split_or(predicate: str) -> list[str]:
    """The top-level ``or`` terms of an XPath predicate (whitespace folded: for tests only)."""
    predicate = " ".join(predicate.split())
    terms, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(predicate):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and predicate.startswith(" or ", i):
            terms.append(predicate[start:i])
            start = i + len(" or ")
    terms.append(predicate[start:])
    return [t.strip() for t in terms]


def _attributes_first(path: str) -> str:
    """``.//*[P]`` -> ``.//*[@*][P]`` when every term of ``P`` reads an attribute, so
    elements without attributes (most of a page) skip the whole test."""
    head = re.match(r"\s*\.//\*\[", path)
    if head is None:
        return path
    depth, end = 1, head.end()
    while end < len(path) and depth:
        depth += {"[": 1, "]": -1}.get(path[end], 0)
        end += 1
    predicate = path[head.end() : end - 1]
    if "not(" in predicate or not all(_ATTRIBUTE_TERM.match(t) for t in _split_or(predicate)):
        return path
    return f"{path[: head.end() - 1]}[@*]{path[head.end() - 1 :]}"


class _Markers:
    """The regex tests of a set of XPaths, each bound to a marker attribute name."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.scan: dict[tuple[str, ...], ahocorasick.Automaton | None] = {}
        self.values: dict[str, XPath] = {}
        self._names: dict[tuple[tuple[str, ...], str, str], str] = {}
        # attribute names tested together (("class",), ("id", "class")...) -> (regex, marker) pairs
        self.specs: dict[tuple[str, ...], list[tuple[re.Pattern[str], str]]] = {}
        # per spec, one answer per distinct attribute value, shared across pages
        self.cache: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}

    def rewrite(self, expr: XPath) -> XPath:
        """``expr`` with each ``re:test`` replaced by its marker (kept if it cannot be), made cheaper.

        Only the first element of a rewritten ``BODY_XPATH`` is the same as the original's
        (the only one trafilatura reads): ``.//*[...][1]`` yields the first match under
        each parent, the rewritten one the first match of the page.
        """

        def replace(match: re.Match[str]) -> str:
            attrs = tuple(a.strip().lstrip("@") for a in match.group(1).split("|"))
            pattern, flags = match.group(2), match.group(3) or ""
            key = (attrs, pattern, flags)
            if key not in self._names:
                compiled = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
                if compiled.search(""):  # would hold for elements without the attribute too
                    raise ValueError(pattern)
                name = f"{self.prefix}{len(self._names)}"
                self._names[key] = name
                self.specs.setdefault(attrs, []).append((compiled, name))
                self.cache.setdefault(attrs, {})
            return f"@{self._names[key]}"

        try:
            rewritten = _RE_TEST.sub(replace, expr.path)
        except ValueError:
            rewritten = expr.path
        return XPath(_attributes_first(_unionize(rewritten)), namespaces={"re": _REGEXP_NS})

    def names(self, spec: tuple[str, ...], value: str) -> tuple[str, ...]:
        """Markers of the tests on ``spec`` that ``value`` passes."""
        cache = self.cache[spec]
        found = cache.get(value)
        if found is None:
            if len(cache) > _CACHE_MAX:
                cache.clear()
            found = tuple(name for regex, name in self.specs[spec] if regex.search(value))
            cache[value] = found
        return found


_CACHE_MAX = 20_000
_LITERAL, _BRANCH, _SUBPATTERN = _constants.LITERAL, _constants.BRANCH, _constants.SUBPATTERN
_MARKERS = _Markers("_nx")  # the main pass's XPaths, on the cleaned tree
_BODY_XPATH = [_MARKERS.rewrite(x) for x in BODY_XPATH]
_OVERALL_DISCARD_XPATH = [_MARKERS.rewrite(x) for x in OVERALL_DISCARD_XPATH]
_TEASER_DISCARD_XPATH = [_MARKERS.rewrite(x) for x in TEASER_DISCARD_XPATH]
_DISCARD_IMAGE_ELEMENTS = [_MARKERS.rewrite(x) for x in DISCARD_IMAGE_ELEMENTS]
# The raw tree's, apart: few tests, so marking the larger raw tree stays cheap.
_RAW_MARKERS = _Markers("_nr")
_RAW_TREE_PRUNE_XPATH = [_RAW_MARKERS.rewrite(x) for x in RAW_TREE_PRUNE_XPATH]
_REMOVE_COMMENTS_AND_LISTS_XPATH = [_RAW_MARKERS.rewrite(x) for x in REMOVE_COMMENTS_AND_LISTS_XPATH]
_BASIC_CLEAN_XPATH = _RAW_MARKERS.rewrite(BASIC_CLEAN_XPATH)


def _needles(seq: Any) -> list[str] | None:
    """Substrings one of which every match of the parsed regex ``seq`` contains, or None."""
    best = run = ""
    for op, av in seq:
        if op is _LITERAL:
            run += chr(av)
            best = max(best, run, key=len)
        else:
            run = ""
    if len(best) >= 3:
        return [best.casefold()]
    for op, av in seq:
        alternatives = av[1] if op is _BRANCH else [av[-1]] if op is _SUBPATTERN else None
        if alternatives is not None:
            found = [_needles(alt) for alt in alternatives]
            if all(found):
                return [n for f in found if f for n in f]
    return [best.casefold()] if best else None


def _automaton(tests: list[tuple[re.Pattern[str], str]]) -> ahocorasick.Automaton | None:
    """An Aho-Corasick automaton over the lower-cased needles of ``tests``' regexes."""
    automaton = ahocorasick.Automaton()
    for regex, _ in tests:
        needles = _needles(_parser.parse(regex.pattern, regex.flags))
        if not needles:
            return None
        for needle in needles:
            automaton.add_word(needle, needle)
    automaton.make_automaton()
    return automaton


def _candidates(values: list[Any], automaton: ahocorasick.Automaton | None) -> list[_Element]:
    """Elements owning a value in ``values`` (attribute results) that may pass a test."""
    if automaton is None:  # no needles for some regex: every value is a candidate
        return [v.getparent() for v in values]
    lowered = [v.casefold() for v in values]
    starts = list(accumulate((len(v) + 1 for v in lowered[:-1]), initial=0))
    found = {bisect_right(starts, end) - 1 for end, _ in automaton.iter("\n".join(lowered))}
    return [values[i].getparent() for i in sorted(found)]


def _freeze(markers: _Markers) -> _Markers:
    """Build ``markers``' scans once all its XPaths are rewritten: per spec, the needles
    of all its regexes (one scan of the page's lower-cased values finds the few that
    can pass a test; only those run the regexes, cached per value)."""
    markers.scan = {spec: _automaton(tests) for spec, tests in markers.specs.items()}
    markers.values = {a: XPath(f"descendant-or-self::*/@{a}") for spec in markers.scan for a in spec}
    return markers


def _mark(tree: _Element, markers: _Markers) -> None:
    values = {a: xpath(tree) for a, xpath in markers.values.items()}
    for spec, automaton in markers.scan.items():
        elements = dict.fromkeys(el for a in spec for el in _candidates(values[a], automaton))
        for el in elements:
            # the first of the spec's attributes in the element's own order, as lxml's re:test reads it
            value = el.get(spec[0]) if len(spec) == 1 else next((v for k, v in el.items() if k in spec), None)
            if value:
                for name in markers.names(spec, value):
                    el.set(name, "")


def mark(tree: _Element) -> None:
    """Set the main pass's marker attributes on the elements of ``tree`` whose attributes match."""
    _mark(tree, _MARKERS)


def mark_raw(tree: _Element) -> None:
    """Set the markers of :func:`prune_raw_tree` and :func:`basic_cleaning` on ``tree``."""
    _mark(tree, _RAW_MARKERS)


_freeze(_MARKERS)
_freeze(_RAW_MARKERS)


def _outermost(matches: dict[_Element, None]) -> list[_Element]:
    """The elements of ``matches`` (in its order) without an ancestor in ``matches``.

    Each ancestor's answer is kept, so a page's matches walk their shared ancestor
    chains once instead of once per match up to the root.
    """
    covered: dict[_Element, bool] = {}  # element -> it or an ancestor is in matches
    outer = []
    for elem in matches:
        chain = []
        node = elem.getparent()
        hit = False
        while node is not None:
            known = covered.get(node)
            if known is not None:
                hit = known
                break
            if node in matches:
                hit = True
                break
            chain.append(node)
            node = node.getparent()
        for node in chain:
            covered[node] = hit
        if not hit:
            outer.append(elem)
    return outer


def prune_nodes(tree: _Element, nodelist: Sequence[XPath], *, with_backup: bool = False) -> _Element:
    """trafilatura's ``prune_unwanted_nodes`` (the tree :func:`mark`-ed for rewritten XPaths)."""
    if not with_backup:
        for expression in nodelist:
            for subtree in expression(tree):
                delete_element(subtree)
        return tree
    matches = dict.fromkeys(elem for expression in nodelist for elem in expression(tree))
    outer = _outermost(matches)
    old_len = len(tree.text_content())
    if old_len - sum(len(elem.text_content()) for elem in outer) > old_len / 7:
        for elem in outer:
            delete_element(elem)
    return tree


class _LinkDensity:
    """trafilatura's three link-density passes (``div``, ``list``, ``p``), run twice.

    An element's test reads its own subtree and whether it has a next sibling.  A
    deletion changes those for the deleted element's ancestors and for its previous
    sibling, so the second round re-tests only those ("dirty") elements.
    """

    def __init__(self, tree: _Element, favor_precision: bool) -> None:
        self.tree = tree
        self.favor_precision = favor_precision
        self.log: list[_Element] = []  # elements touched by deletions, in order
        self.first_round: dict[str, int] = {}  # tag -> len(log) when its first pass ran

    def run(self) -> None:
        # Found once, before any deletion: a deletion only takes links away, and an
        # element left without a <ref> below passes link_density_test at once (False,
        # False), so testing it too gives the same deletions.
        above = self._above_links()
        for tag, backtracking in (("div", True), ("list", False), ("p", False)):
            self.first_round[tag] = len(self.log)
            self._pass(tag, backtracking, self._linked(tag, above))
        for tag, backtracking in (("div", True), ("list", False), ("p", False)):
            dirty = set(self.log[self.first_round[tag] :])
            self._pass(tag, backtracking, [e for e in self._linked(tag, above) if e in dirty])

    def _linked(self, tag: str, above: set[_Element]) -> list[_Element]:
        """Elements of ``tag`` (the tree's root included) in ``above``, in document order."""
        if not above:
            return []
        return [e for e in self.tree.iter(tag) if e in above]

    def _above_links(self) -> set[_Element]:
        """Elements of the tree (its root included) with a ``<ref>`` below them."""
        above: set[_Element] = set()
        root = self.tree
        for ref in root.iter("ref"):
            for ancestor in ref.iterancestors():
                if ancestor in above:
                    break
                above.add(ancestor)
                if ancestor is root:
                    break
        return above

    def _pass(self, tagname: str, backtracking: bool, elements: Iterable[_Element]) -> None:
        """trafilatura's ``delete_by_link_density`` over ``elements``."""
        deletions = []
        len_threshold = 200 if self.favor_precision else 100
        depth_threshold = 1 if self.favor_precision else 3
        for elem in elements:
            result, short_with_links = link_density_test(elem, self.favor_precision)
            if result or (
                backtracking
                and short_with_links
                and len(elem) >= depth_threshold
                and len(trim(elem.text_content())) < len_threshold
            ):
                parent = elem.getparent()
                if tagname == "p" and parent is not None and parent.tag in ("item", "td", "th"):
                    continue
                deletions.append(elem)
        for elem in dict.fromkeys(deletions):
            if elem.getparent() is None:
                continue
            previous = elem.getprevious()
            if previous is not None:
                self.log.append(previous)
            self.log.extend(elem.iterancestors())
            delete_element(elem)


def prune_unwanted_sections(
    tree: _Element, potential_tags: set[str], options: Extractor, keep_teasers: bool = False
) -> _Element:
    """trafilatura's ``prune_unwanted_sections`` (``tree`` must be :func:`mark`-ed)."""
    favor_precision = options.focus == "precision"
    tree = prune_nodes(tree, _OVERALL_DISCARD_XPATH, with_backup=True)
    if "graphic" not in potential_tags:
        tree = prune_nodes(tree, _DISCARD_IMAGE_ELEMENTS)
    if options.focus != "recall":
        if not keep_teasers:
            tree = prune_nodes(tree, _TEASER_DISCARD_XPATH)
        if favor_precision:
            tree = prune_nodes(tree, PRECISION_DISCARD_XPATH)
    _LinkDensity(tree, favor_precision).run()
    if "table" in potential_tags or favor_precision:
        boilerplate_tables = [elem for elem in tree.iter("table") if link_density_test_tables(elem) is True]
        for elem in boilerplate_tables:
            delete_element(elem, keep_tail=False)
    if favor_precision:
        while len(tree) > 0 and (tree[-1].tag == "head"):
            delete_element(tree[-1], keep_tail=False)
        # trafilatura's single passes here, for precision focus only (not the clean stage's)
        for tag in ("head", "quote"):
            single = _LinkDensity(tree, favor_precision=True)
            single._pass(tag, False, list(tree.iter(tag)))
    strip_tags(tree, "span", *(() if "ref" in potential_tags else ("ref",)))
    return tree


def _first_frame(tree: _Element) -> tuple[int, _Element] | None:
    """The first ``BODY_XPATH`` that selects something on ``tree``, and its element."""
    for index, expr in enumerate(_BODY_XPATH):
        subtree = next((s for s in expr(tree) if s is not None), None)
        if subtree is not None:
            return index, subtree
    return None


def _extract(tree: _Element, options: Extractor, first: tuple[int, _Element] | None) -> tuple[_Element, str, set[str]]:
    """trafilatura's ``_extract``: the first article frame that yields real content.

    ``first`` is :func:`_first_frame` of the untouched ``tree``: the frames before it
    select nothing, and trafilatura's loop reaches it with the tree still untouched.
    """
    potential_tags = set(TAG_CATALOG)
    if options.tables is True:
        potential_tags.update(["table", "td", "th", "tr"])
    if options.images is True:
        potential_tags.add("graphic")
    if options.links is True:
        potential_tags.add("ref")
    result_body = Element("body")
    start, first_subtree = first if first is not None else (len(_BODY_XPATH), None)
    for index, expr in enumerate(_BODY_XPATH):
        if index < start:
            continue
        subtree = first_subtree if index == start else next((s for s in expr(tree) if s is not None), None)
        if subtree is None:
            continue
        subtree = prune_unwanted_sections(subtree, potential_tags, options)
        if len(subtree) == 0:
            continue
        ptest = subtree.xpath("//p//text()")
        factor = 1 if options.focus == "precision" else 3
        if not ptest or len("".join(ptest)) < options.min_extracted_size * factor:
            potential_tags.add("div")
        subelems = subtree.xpath(".//*")
        tags = {e.tag for e in subelems}
        if tags == {"lb"} or (subtree.tag == "div" and "div" in potential_tags and tags <= INLINE_FORMATTABLE | {"lb"}):
            subelems = [subtree]
        lead, start = None, len(result_body)
        if subelems != [subtree] and text_chars_test(subtree.text):
            lead = Element("p")
            lead.text = subtree.text
            lead = process_node(lead, options)
        for elem in subelems:
            if elem.getroottree().getroot() is result_body:
                continue
            tag, tail = elem.tag, elem.tail
            processed_elem = handle_textelem(elem, potential_tags, options)
            if processed_elem is not None:
                result_body.append(processed_elem)
                if elem.getroottree().getroot() is not result_body:
                    elem.tag = "done"
            if (
                tag in REBUILT_BLOCKS
                and text_chars_test(tail)
                and (processed_elem is None or processed_elem.tail is None)
            ):
                tail_elem = Element("p")
                tail_elem.text = tail
                if process_node(tail_elem, options) is not None:
                    result_body.append(tail_elem)
        while len(result_body) > 0 and (result_body[-1].tag in NOT_AT_THE_END):
            delete_element(result_body[-1], keep_tail=False)
        if sum(e.tag != "graphic" for e in result_body) > 1:
            if lead is not None:
                result_body.insert(start, lead)
            break
    temp_text = " ".join(result_body.itertext()).strip()
    return result_body, temp_text, potential_tags


def recover_wild_text(
    tree: _Element,
    result_body: _Element,
    options: Extractor,
    potential_tags: set[str] | None = None,
    consumed: set[_Element] | None = None,
) -> _Element:
    """trafilatura's ``recover_wild_text``: paragraphs anywhere on the page, not yet taken."""
    potential_tags = set(TAG_CATALOG if potential_tags is None else potential_tags)
    search_expr = ".//code|.//p|.//quote|.//table|.//div[contains(@class, 'w3-code')]"
    if options.focus == "recall":
        potential_tags.update(["div", "lb"])
        search_expr += "|.//div|.//lb|.//list"
    search_tree = prune_unwanted_sections(tree, potential_tags, options, keep_teasers=options.fast)
    subelems = search_tree.xpath(search_expr)
    elem_texts = [_elem_text(el) for el in result_body]
    existing = "\n".join(filter(None, elem_texts))
    existing_elems = set(elem_texts)
    handled: set[_Element] = set()
    for subelem in subelems:
        if (consumed and subelem in consumed) or any(a in handled for a in subelem.iterancestors()):
            continue
        processed = handle_textelem(subelem, potential_tags, options)
        if processed is None:
            continue
        if processed is subelem:
            handled.add(subelem)
        text = _elem_text(processed)
        images = {img.get("src") for img in processed.iter("graphic")}
        if not text and images and images <= {g.get("src") for g in result_body.iter("graphic")}:
            continue
        under_cap = len(existing) <= DEDUPE_SCAN_CAP
        fragment = trim(text + (processed.tail or "")) if text_chars_test(processed.tail) else ""
        if text and (
            text in existing_elems
            or (
                under_cap
                and ((len(text) > MIN_DUPLICATE_LENGTH and text in existing) or (fragment and fragment in existing))
            )
        ):
            continue
        result_body.append(processed)
        if under_cap:
            existing += "\n" + (fragment or text)
        existing_elems.add(text)
    return result_body


def prune_raw_tree(tree: _Element, *, is_forum: bool) -> _Element:
    """trafilatura's two prunes of the raw tree (``tree`` :func:`mark_raw`-ed): follow-up articles
    of infinite-scroll pages, and comment sections unless the page is a forum thread."""
    tree = prune_nodes(tree, _RAW_TREE_PRUNE_XPATH)
    if not is_forum:
        tree = prune_nodes(tree, _REMOVE_COMMENTS_AND_LISTS_XPATH)
    return tree


def basic_cleaning(tree: _Element) -> _Element:
    """trafilatura's ``basic_cleaning`` (asides, footers, scripts, cookie banners), ``tree`` :func:`mark_raw`-ed."""
    for elem in _BASIC_CLEAN_XPATH(tree):
        delete_element(elem)
    return tree


def extract_content(cleaned_tree: HtmlElement, options: Extractor) -> tuple[_Element, str]:
    """trafilatura's ``extract_content`` on a cleaned, converted tree (marked here)."""
    mark(cleaned_tree)
    first = _first_frame(cleaned_tree)
    if first is None:
        # No frame selects anything, so the first pass leaves the tree untouched and the
        # recovery can run on it: no copy (most CleanEval pages, 44% of L3S-GN1's).
        backup_tree, order = cleaned_tree, None
    else:
        backup_tree = deepcopy(cleaned_tree)
        order = list(cleaned_tree.iter())
    result_body, temp_text, potential_tags = _extract(cleaned_tree, options, first)
    if len(result_body) == 0 or len(temp_text) < options.min_extracted_size:
        consumed: set[_Element] = (
            set()
            if order is None
            else {twin for elem, twin in zip(order, backup_tree.iter(), strict=True) if elem.tag == "done"}
        )
        result_body = recover_wild_text(backup_tree, result_body, options, potential_tags, consumed)
        temp_text = " ".join(result_body.itertext()).strip()
    previous = None
    for el in list(result_body):
        current = _elem_text(el)
        if current and current == previous and len(current) > MIN_DUPLICATE_LENGTH:
            delete_element(el, keep_tail=False)
        else:
            previous = current
    strip_elements(result_body, "done")
    strip_tags(result_body, "div")
    for linebreak in result_body.iter("lb"):
        if (
            linebreak.tail
            and not text_chars_test(linebreak.tail)
            and not any(anc.tag in SPACING_PROTECTED for anc in linebreak.iterancestors())
        ):
            linebreak.tail = None
    return result_body, temp_text
