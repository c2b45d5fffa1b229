"""The GUI tool: drive desktop applications on Linux/X11 for a text-only model.

Modules, from the pixels up:

- `geometry`: the one mapping between screenshot pixels, the model's image and the
  desktop's logical coordinates, across monitors and scale factors (pure).
- `base`: the four seams (`Screen`, `Input`, `Windows`, `Ocr`) and their values.
- `screen` (mss), `input` (pyautogui), `windows_x11` (python-xlib), `ocr`
  (rapidocr-onnxruntime): the real implementations, each the only importer of its library.
- `fakes`: in-memory implementations of the seams for unit tests.
- `raster`: composing monitors into one image, shrinking it, PNG (numpy only).
- `elements`: OCR lines as numbered elements the model can name; secret scrubbing.
- `reader`: capture, shrink, OCR (skipped for an unchanged screen), number; screenshots.
- `actions`: the argument models; `tool`: the actions, their effects and their safety.
- `session`: which desktops are supported (X11), and the clear refusal for the rest.

Importing this package (or `tool`) imports none of the heavy libraries and connects to
no display; `session.x11_desktop` builds drivers that connect on first use.
"""
