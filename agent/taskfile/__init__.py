"""Task files: a repeatable task written down in YAML (``*.task.yaml``), loaded and checked.

A task file says what to do (a `goal` for the model, or `steps` mixing fixed tool actions
with `agent` sub-goals), which `inputs` it takes (filled with ``--set name=value``), which
`permissions` an unattended run is granted, which `checks` decide its outcome, and its
`limits`. For example::

    name: Sort downloads
    description: Put the pictures in a downloads folder into their own folder.
    inputs:
      folder: {type: path, default: Downloads, description: the folder to sort}
    permissions: ["fs.write:Downloads/*"]
    steps:
      - tool: files.make_folder
        args: {path: "{{ inputs.folder }}/images"}
      - agent: Move every picture in {{ inputs.folder }} into {{ inputs.folder }}/images.
        max_steps: 8
    checks:
      - {kind: count_matching, pattern: "{{ inputs.folder }}/images/*", at_least: 1}
    limits: {max_steps: 20, max_seconds: 300}

Placeholders: ``{{ inputs.NAME }}`` is replaced by the input's value in `goal`, in each
step's `agent` text and `args` (an arg that is exactly one placeholder keeps the input's
type), and in the text fields of `checks` (shell-quoted inside `command`). ``{{
secrets.NAME }}`` (or ``{{secret:NAME}}``, as the model writes it) must name an entry of
`secrets` and is left in place: the tool that types it resolves it from the keyring at
the moment of use, so the journal and the model only see the placeholder.
``{{ outputs.NAME }}`` in a fixed step's `args` is left in place too and replaced, when
that step runs, by the output of the earlier fixed step that has ``save_as: NAME`` (for
example the text `browser.extract` read from a page). Any other ``{{`` is an error.
The grammar (names, spellings, spaces) is the one in tools/placeholders.py. Substitution
is regular expressions, not a template engine: a task file is data, and dropping one
into the watched inbox must never run template code (loops, filters, attribute access)
or take unbounded time.

`permissions` take ``{{ inputs.NAME }}`` in their scope (never in the capability), and a
value there stands only for itself, so what a task may do can still be read off the
file: in a ``browser.*`` grant the value must be a host or a web address (whose host is
meant, as with ``--allow``), without spaces or wildcards; in any other grant its
wildcard characters are escaped (``glob.escape``), so ``*`` given as a folder name
matches only a folder called ``*``.

Invariants:
- Every failure to load, for any input bytes, is a `TaskFileError` whose str() is one
  line, ``FILE[:LINE[:COLUMN]]: [FIELD: ]message``: unreadable or oversized files (over
  1 MiB), bytes that are not UTF-8, YAML syntax, duplicate keys, tags and merge keys,
  nesting deeper than `strict_yaml.MAX_DEPTH`, alias bombs, schema errors (every model forbids
  unknown fields, and values are not coerced: ``"5"`` is not an int), bad grants, unknown
  or badly typed ``--set`` values, missing inputs and bad placeholders.
- Line numbers come from the YAML node marks (strict_yaml.py reads the YAML and owns
  `TaskFileError`), so a field error points at the key that holds the bad value (or at
  the mapping that lacks a required field).
- A loaded `TaskFile` is frozen and has its inputs substituted; tool names and their
  arguments are checked later, against the registry.

The package: `schema` (the pydantic models and input values), `strict_yaml` (YAML with
line marks, no tags, merge keys or alias bombs), `render` (input placeholders), `load`
(the whole path from bytes to a `TaskFile`) and `from_run` (``deskhand save``: a
successful run compiled into a task file; import it from there, it needs the runner).
"""

from agent.taskfile.load import load_task_file, parse_task_text, task_file_json_schema
from agent.taskfile.schema import (
    MAX_BYTES,
    AgentStep,
    Check,
    CommandExitsZero,
    CountMatching,
    FileContains,
    FileExists,
    InputSpec,
    PageContains,
    TaskFile,
    TaskLimits,
    ToolStep,
    convert_input,
    parse_expect,
)
from agent.taskfile.strict_yaml import Problem, TaskFileError

__all__ = [
    "MAX_BYTES",
    "AgentStep",
    "Check",
    "CommandExitsZero",
    "CountMatching",
    "FileContains",
    "FileExists",
    "InputSpec",
    "PageContains",
    "Problem",
    "TaskFile",
    "TaskFileError",
    "TaskLimits",
    "ToolStep",
    "convert_input",
    "load_task_file",
    "parse_expect",
    "parse_task_text",
    "task_file_json_schema",
]
