"""The browser tool: a real Chromium-family browser driven through Playwright.

Modules, from the page up:

- `driver` (the only module that imports playwright) launches or attaches to a browser,
  stamps interactive elements with stable indices (`page_script`), acts on them, keeps
  the agent on approved domains and maps Playwright's exceptions to `ToolFailure`.
- `guard` holds the one rule for which hosts may get a request; `proxy` is the filtering
  proxy the launched browser must send every connection through, judged by that rule.
- `base` holds the `Browser` seam and the plain values it returns.
- `observe` turns a page into the text a small model reads, within a token budget,
  with a shortlist of the elements most related to the goal.
- `tools.placeholders` (shared with the GUI tool) resolves ``{{secret:NAME}}`` at the
  last moment; `tools.redaction` scrubs typed values, in every shape a page can echo
  them, out of everything the model or the journal sees.
- `tool` declares the actions (`browser.open`, `browser.click`, ...) with their effects.
- `launch` finds a browser executable.

Importing this package never imports playwright and never starts a browser; the browser
starts on the first action that needs it.
"""
