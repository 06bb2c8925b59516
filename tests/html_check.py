"""Check an HTML page the way tests/test_results.c needs: it parses as
HTML (Python's html.parser), every element is closed in order, it has a
doctype, and it loads nothing from outside. Prints one line,
"ok svg=N figure=N table=N", or "error: ..." (exit 1).

Usage: python3 html_check.py PAGE
"""
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.counts, self.errors, self.doctype = [], {}, [], False

    def handle_decl(self, decl):
        self.doctype |= decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        for name, value in attrs:
            if name in ("src", "href") and value and "://" in value:
                self.errors.append("loads %s" % value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
            return
        self.stack.pop()


def main(path):
    checker = Checker()
    with open(path, encoding="utf-8") as f:
        checker.feed(f.read())
    checker.close()
    if not checker.doctype:
        checker.errors.append("no <!DOCTYPE html>")
    if checker.stack:
        checker.errors.append("unclosed: " + " ".join(checker.stack))
    if checker.errors:
        print("error: " + "; ".join(checker.errors[:5]))
        return 1
    print("ok svg=%d figure=%d table=%d" % tuple(checker.counts.get(t, 0)
                                                 for t in ("svg", "figure", "table")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
