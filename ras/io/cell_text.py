"""Text in SpreadsheetML cells, escaped as Excel and XlsxWriter write it.

XML cannot carry most control characters, so Excel writes them as ``_xHHHH_`` (the
character's code in hex), and readers (Excel, LibreOffice, python-calamine) turn the
escape back into the character. Text that merely looks like such an escape
(``_x0041_`` typed by a person) is therefore written with its underscore escaped
(``_x005F_x0041_``), or it would be read back as ``A``. Every writer of cell text in
ras uses this one function, so a Person ID reads back exactly as it was read in.
"""

from __future__ import annotations

import re

#: Characters XML cannot hold as they are (tab and line feed it can), and carriage
#: return, which XML readers would turn into a line feed: a class's ranges, for
#: writers that look for them in many texts at once.
CONTROL_CHARS = "\x00-\x08\x0b-\x1f\ufffe\uffff"
CONTROL = re.compile(f"[{CONTROL_CHARS}]")
_ESCAPE_LIKE = re.compile("(_x[0-9a-fA-F]{4}_)")


def xml_escape(value: str) -> str:
    """``&``, ``<`` and ``>`` as XML entities (a formula's text: no ``_xHHHH_`` there)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell_text(value: str) -> str:
    """A cell's text as it goes between ``<t>`` and ``</t>``: escaped, read back as is."""
    return xml_escape(ooxml_escape(value))


def ooxml_escape(value: str) -> str:
    """A cell's text with Excel's ``_xHHHH_`` escapes, for a writer that escapes XML.

    openpyxl escapes XML itself, but refuses control characters and writes ``_x0041_``
    as it is, which readers read back as ``A``.
    """
    if "_x" in value:
        value = _ESCAPE_LIKE.sub(r"_x005F\1", value)
    if CONTROL.search(value) is not None:
        value = CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", value)
    return value
