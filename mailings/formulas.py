"""Values that a spreadsheet would run as formulas, made inert in our CSV files and restored on import.

A spreadsheet runs a cell whose text starts with `=`, `+`, `-` or `@` (CSV injection:
`=HYPERLINK(...)`, `=cmd|...`). Some programs trim leading spaces, tabs and line breaks
first, and some take a cell's quotes as text or drop them, so a cell counts as running when
it starts with one of those four after any whitespace and `"`.

Where a cell starts depends on the reader, not on us. We write `,` between values, and quote
a value holding `,`, `"`, CR or LF; a program reading with `,` then sees our cells. But Excel
splits lines on the locale's list separator (`;` in most of Europe, where it also opens our
`.csv` files by a double click), and other programs on tab. Such a reader takes our line
`79001234567,900,"x;=1+1;",UTC` as the cells `79001234567,900,"x`, `=1+1` and `",UTC`:
a quote opens a quoted field only at the start of a cell, and the line's first cell (the
phone) never starts with one, so quoting more (every field, or every text field) keeps no
`;` or tab inside a value from splitting it. Quoting cannot protect a reader that uses
another separator; escaping must.

So every place where some reader may start a cell is made inert: the start of a value, and
right after each `,`, `;`, tab, CR or LF inside it (a line break inside a quoted value starts
a new line for a reader that does not see the quote as opening). A piece of a value between
those characters that would run (or that starts with `'`, after whitespace and quotes) gets a
`'` in front: a spreadsheet takes a `'`-led cell as text. The import takes exactly one `'` off
each such piece, so every value comes back unchanged.
"""

import re

FORMULA_STARTS = ("=", "+", "-", "@")
# Characters after which a reader with `,`, `;` or tab as its separator may start a cell.
_CELL_BREAKS = re.compile(r"([,;\t\r\n])")
_LEADING_BLANKS = re.compile(r'[\s"]*')
# A value with none of these needs nothing (most values: phones, codes, zones, plain tags).
_MAY_NEED_A_MARK = re.compile(r'^[\s"\'=+\-@]|[,;\t\r\n]')


def _needs_quote_mark(piece: str) -> bool:
    """Whether a piece starts (after whitespace and quotes) with a formula character or a `'`."""
    return piece[_LEADING_BLANKS.match(piece).end() :].startswith((*FORMULA_STARTS, "'"))


def escape_formulas(value: str) -> str:
    """`x;=1+1;` becomes `x;'=1+1;`, `=cmd|...` becomes `'=cmd|...`; a piece already led by `'`
    gets one more, so that `unescape_formulas` gives every value back as it was."""
    if not _MAY_NEED_A_MARK.search(value):
        return value
    pieces = _CELL_BREAKS.split(value)  # the pieces at even indexes, the breaks between them at odd ones
    for index in range(0, len(pieces), 2):
        if _needs_quote_mark(pieces[index]):
            pieces[index] = f"'{pieces[index]}"
    return "".join(pieces)


def unescape_formulas(value: str) -> str:
    """Undo `escape_formulas`: one `'` off each piece that starts with `'` followed by what needed it."""
    if "'" not in value:
        return value
    pieces = _CELL_BREAKS.split(value)
    for index in range(0, len(pieces), 2):
        if pieces[index].startswith("'") and _needs_quote_mark(pieces[index][1:]):
            pieces[index] = pieces[index][1:]
    return "".join(pieces)
