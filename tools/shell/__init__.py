"""The shell tool (`tools.shell.tool`) and the rules every command it runs goes through:
the argv parser, argument confinement and grant matching (`argv`), the dangerous-option
tables (`danger`), git without repository-configured programs (`git`), and the subreaper
that leaves no process behind (`reaper`, Linux)."""

from tools.shell.argv import OPERATOR_CHARS, confine, parse_command, pattern_covers
from tools.shell.tool import ShellArgs, ShellTool

__all__ = ["OPERATOR_CHARS", "ShellArgs", "ShellTool", "confine", "parse_command", "pattern_covers"]
