"""The file tool's argument models: what the model may pass to each files.* action.

Invariants: every model forbids extra fields (`ToolArgs`); every path argument is a
non-empty string that `Workspace.resolve` checks before anything is touched.
"""

from __future__ import annotations

from pydantic import Field

from tools.base import ToolArgs

_PATH = "path relative to the workspace"


class ListArgs(ToolArgs):
    path: str = Field(default=".", min_length=1, description="folder to list; '.' is the workspace")


class ReadArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)


class WriteArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)
    content: str = Field(description="the whole new text of the file")


class AppendArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)
    content: str = Field(min_length=1, description="text to add at the end")


class FolderArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)


class TransferArgs(ToolArgs):
    source: str = Field(min_length=1, description=_PATH)
    destination: str = Field(
        min_length=1, description="new path, or an existing folder to put it in"
    )


class DeleteArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)


class SearchNamesArgs(ToolArgs):
    pattern: str = Field(min_length=1, description="part of the name, or a pattern like *.txt")
    path: str = Field(
        default=".", min_length=1, description="folder to search; '.' is the workspace"
    )


class SearchTextArgs(ToolArgs):
    text: str = Field(min_length=1, description="text to find (case does not matter)")
    path: str = Field(default=".", min_length=1, description="folder or file to search")
