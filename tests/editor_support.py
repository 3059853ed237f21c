"""The editor's page text for the browser tests, whichever editor the page has.

With JavaScript the text area becomes the toolbar editor (``wiki/static/editor.js``,
EasyMDE) and the ``<textarea>`` itself is hidden; pages that do not load the
editor (the conflict page) keep the plain text area. ``page_text(page)`` fills
and reads either, so a test says what the person writes, not which widget
holds it. ``tests/test_editor_browser.py`` types into the editor key by key.
"""

from __future__ import annotations


class PageText:
    """``fill``, ``input_value`` and ``is_visible``, like the text area's locator."""

    def __init__(self, page) -> None:
        self.page = page

    def _enhanced(self) -> bool:
        self.page.locator("#markdown").wait_for(state="attached")
        self.page.wait_for_load_state("domcontentloaded")  # editor.js is deferred: it has run by then
        return self.page.evaluate("() => window.trousseEditor !== undefined")

    def fill(self, text: str) -> None:
        if self._enhanced():
            self.page.evaluate("text => { window.trousseEditor.codemirror.focus(); window.trousseEditor.value(text); }", text)
        else:
            self.page.locator("#markdown").fill(text)

    def input_value(self) -> str:
        if self._enhanced():
            return self.page.evaluate("() => window.trousseEditor.value()")
        return self.page.locator("#markdown").input_value()

    def is_visible(self) -> bool:
        return self.page.locator(".CodeMirror" if self._enhanced() else "#markdown").is_visible()


def page_text(page) -> PageText:
    return PageText(page)
