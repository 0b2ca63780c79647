"""Reading the copy-paste snippets back out of an application page."""

import html
import re

_SNIPPET = re.compile(r'<code id="snippet-([\w-]+)"[^>]*>(.*?)</code>', re.DOTALL)
_VALUE = r'<[^>]+ id="{id}"[^>]*>(.*?)</[a-z]+>'


def page_snippets(page: str) -> dict[str, str]:
    """{name: text} of every <pre><code id="snippet-NAME"> block, as a reader copies it."""
    found = {name: html.unescape(text) for name, text in _SNIPPET.findall(page)}
    assert len(found) == len(_SNIPPET.findall(page)), "two snippets share an id"
    return found


def page_value(page: str, element_id: str) -> str:
    """The text of the element with this id (no nested tags), unescaped and stripped."""
    match = re.search(_VALUE.format(id=re.escape(element_id)), page, re.DOTALL)
    assert match, f"no element #{element_id} on the page"
    return html.unescape(match.group(1)).strip()
