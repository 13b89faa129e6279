#!/usr/bin/env python3
"""Numbers every RFC 2119 sentence of XEP-0116, XEP-0200, XEP-0187 and XEP-0155, from
their XML sources, into vectors/specs/requirements.md: the rows of the conformance
matrix (docs/conformance.md, checked by conformance/tests/matrix.rs).

Usage (from the repository root; Python 3.11, standard library only):

    python3 vectors/tools/requirements.py            # rewrites vectors/specs/requirements.md
    python3 vectors/tools/requirements.py --check    # exit 1 if the committed file differs
    python3 vectors/tools/requirements.py --upstream ../shared/specs/requirements.md
                                                     # exit 1 unless the same ids, levels,
                                                     # sections and sentences (KNOWN_DIFFERENCES aside)

How a row is made (the numbering the upstream list uses, so the ids are the same):

* The XML is read with expat, its entities taken from vectors/specs/xml/xep.ent, so
  `&xep0030;` becomes "Service Discovery (XEP-0030)" plus its footnote.
* Text blocks, in document order, skipping the header and every <example/>: each <p>;
  each <li> without a <p> (written "- text"); each table row <tr> (its cells joined as
  "/ a / b /"); each <code> outside an example (written "xml " + its text).
  Inline markup keeps its text; <span class='super'> is written "^x" (2^32);
  a footnote <note> is written " [note: ...]" and a footnote inside a footnote as its bare text.
* A block's text, whitespace collapsed, is cut into sentences after ".", "!" or "?"
  followed by a space and a capital letter or "(". A sentence with an upper-case RFC 2119
  keyword is a row: its level is the strongest keyword in it (footnotes included):
  MUST NOT, MUST (REQUIRED, SHALL), SHOULD NOT, SHOULD (RECOMMENDED, NOT RECOMMENDED),
  MAY (OPTIONAL); its section is the title of the innermost enclosing section.
* The statement is the sentence with each whole "[note: ...]" removed (with the space
  before it). A footnote cut by a sentence end stays as text, as upstream has it.
* Ids are XEPnnnn-001 upward per XEP, in document order.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import xml.parsers.expat

ROOT = pathlib.Path(__file__).resolve().parents[2]
XML_DIR = ROOT / "vectors/specs/xml"
OUT = ROOT / "vectors/specs/requirements.md"
XEPS = ["0116", "0200", "0187", "0155"]

# Rows whose statement differs from ../shared/specs/requirements.md, with upstream's
# text. Upstream's Markdown rendering lost the "[note:" of a footnote inside a footnote,
# so removing the outer footnote leaves its last "." behind.
KNOWN_DIFFERENCES = {
    "XEP0187-018": (
        "If Bob believes Alice is offline he SHOULD request her ESession options and, if he "
        "does not have a local copy of any of her public keys, her long-term public "
        "signature-verification keys from her server using Personal Eventing via Pubsub "
        "(see Public Key Publishing (XEP-0189)).."
    ),
}

HEADER = """\
# Normative statements of the Encrypted Sessions XEPs

Each sentence of XEP-0116, XEP-0200, XEP-0187 and XEP-0155 that carries an upper-case
RFC 2119 keyword, in document order, with its id, its strongest keyword and the section it
sits in. Examples and the document headers are left out; footnotes count for the level
but are removed from the statement. Generated from the XML sources in `xml/` by
`vectors/tools/requirements.py`: do not edit by hand. `docs/conformance.md` maps each id
to the test that proves it, or to the reason it does not apply to a library.

| id | level | section | statement |
|---|---|---|---|
"""


class Element:
    """A parsed XML element: tag, attributes, and children (str or Element)."""

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[str | Element] = []

    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]


def parse(path: pathlib.Path) -> Element:
    """The XEP's root element, with the entities of xep.ent (beside it) expanded."""
    document = Element("#document", {})
    stack = [document]

    def attach(parser) -> None:
        def start(tag, attrs):
            element = Element(tag, attrs)
            stack[-1].children.append(element)
            stack.append(element)

        def end(_tag):
            stack.pop()

        def text(data):
            stack[-1].children.append(data)

        def external(context, _base, system_id, _public_id):
            # The DOCTYPE names xep.dtd (not needed: no defaults we use) and the
            # parameter entity xep.ent, which defines every general entity.
            if system_id == "xep.ent":
                sub = parser.ExternalEntityParserCreate(context)
                attach(sub)
                sub.Parse((path.parent / system_id).read_bytes(), True)
            return 1

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = text
        parser.ExternalEntityRefHandler = external

    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_ALWAYS)
    attach(parser)
    parser.Parse(path.read_bytes(), True)
    (root,) = document.elements()
    return root


def inline(element: Element, in_note: bool = False) -> str:
    """The text of an element, footnotes written " [note: ...]"."""
    out = []
    for c in element.children:
        if isinstance(c, str):
            out.append(c)
        elif c.tag == "note":
            out.append(inline(c, True) if in_note else " [note: " + inline(c, True) + "]")
        elif c.tag == "span" and c.attrs.get("class") == "super":
            out.append("^" + inline(c, in_note))
        else:
            out.append(inline(c, in_note))
    return "".join(out)


def blocks(element: Element, section: str, out: list[tuple[str, str]]) -> None:
    """Appends (section title, block text) for every text block under `element`."""
    for c in element.elements():
        if c.tag in ("section1", "section2", "section3", "section4"):
            blocks(c, c.attrs.get("topic", ""), out)
        elif c.tag == "example":
            continue
        elif c.tag == "p":
            out.append((section, inline(c)))
        elif c.tag == "li" and not any(k.tag == "p" for k in c.elements()):
            out.append((section, "- " + inline(c)))
        elif c.tag == "tr":
            cells = " / ".join(inline(cell).strip() for cell in c.elements())
            out.append((section, f"/ {cells} /"))
        elif c.tag == "code":
            out.append((section, "xml " + inline(c)))
        else:
            blocks(c, section, out)


KEYWORD = re.compile(
    r"\b(MUST NOT|SHALL NOT|SHOULD NOT|NOT RECOMMENDED|MUST|REQUIRED|SHALL|SHOULD"
    r"|RECOMMENDED|MAY|OPTIONAL)\b"
)
LEVEL = {
    "MUST NOT": "MUST NOT",
    "SHALL NOT": "MUST NOT",
    "MUST": "MUST",
    "REQUIRED": "MUST",
    "SHALL": "MUST",
    "SHOULD NOT": "SHOULD NOT",
    "SHOULD": "SHOULD",
    "RECOMMENDED": "SHOULD",
    "NOT RECOMMENDED": "SHOULD",
    "MAY": "MAY",
    "OPTIONAL": "MAY",
}
STRENGTH = ["MUST NOT", "MUST", "SHOULD NOT", "SHOULD", "MAY"]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
FOOTNOTE = re.compile(r"\s*\[note: [^\]]*\]")


def rows(xep: str) -> list[tuple[str, str, str, str]]:
    """(id, level, section, statement) for every normative sentence of one XEP."""
    root = parse(XML_DIR / f"xep-{xep}.xml")
    found: list[tuple[str, str, str]] = []
    for top in root.elements():
        if top.tag == "header":
            continue
        texts: list[tuple[str, str]] = []
        blocks(top, top.attrs.get("topic", ""), texts)
        for section, text in texts:
            text = " ".join(text.replace("\xa0", " ").split())
            for sentence in SENTENCE_END.split(text):
                levels = [LEVEL[k] for k in KEYWORD.findall(sentence)]
                if levels:
                    statement = " ".join(FOOTNOTE.sub("", sentence).split())
                    found.append((min(levels, key=STRENGTH.index), section, statement))
    return [(f"XEP{xep}-{i:03d}", *row) for i, row in enumerate(found, 1)]


def render() -> str:
    lines = [HEADER]
    for xep in XEPS:
        for rid, level, section, statement in rows(xep):
            cell = statement.replace("|", "/")
            lines.append(f"| {rid} | {level} | {section} | {cell} |\n")
    return "".join(lines)


def table(text: str) -> dict[str, tuple[str, str, str]]:
    """id -> (level, section, statement) of a requirements list in this layout."""
    out = {}
    for line in text.splitlines():
        if line.startswith("| XEP"):
            rid, level, section, statement = (c.strip() for c in line.strip("|").split(" | ", 3))
            out[rid] = (level, section, statement)
    return out


def compare_upstream(ours: str, upstream: str) -> list[str]:
    """Every difference from the upstream list that KNOWN_DIFFERENCES does not explain."""
    a, b = table(ours), table(upstream)
    problems = []
    if list(a) != list(b):
        problems.append(f"ids differ: only ours {sorted(set(a) - set(b))}, "
                        f"only upstream {sorted(set(b) - set(a))}")
    for rid in a.keys() & b.keys():
        (la, sa, ta), (lb, sb, tb) = a[rid], b[rid]
        if (la, sa) != (lb, sb):
            problems.append(f"{rid}: level/section {la}/{sa} here, {lb}/{sb} upstream")
        expected_upstream = KNOWN_DIFFERENCES.get(rid, ta)
        if tb != expected_upstream:
            problems.append(f"{rid}: statement differs\n  here:     {ta}\n  upstream: {tb}")
    return sorted(problems)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed file")
    ap.add_argument("--upstream", type=pathlib.Path, help="an upstream requirements.md")
    args = ap.parse_args()
    text = render()
    status = 0
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.relative_to(ROOT)} is not what the XML sources give", file=sys.stderr)
            status = 1
    elif not args.upstream:
        OUT.write_text(text, encoding="utf-8")
    if args.upstream:
        problems = compare_upstream(text, args.upstream.read_text(encoding="utf-8"))
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            status = 1
        else:
            n = len(table(text))
            print(f"{n} ids match {args.upstream} "
                  f"({len(KNOWN_DIFFERENCES)} statement(s) differ as documented)")
    return status


if __name__ == "__main__":
    sys.exit(main())
