"""Entry points: the command line (`app.cli`) and, later, the Qt tray app.

The only package that may import Qt. Everything here is a client of the headless engine
in `agent`.
"""
