"""The settings window's permission defaults: rows of capability, scope and decision,
written to the config file's ``permissions`` (checked before the built-in defaults,
first match wins).

Invariants: a row is checked by the rules ``--allow`` uses (`agent.policy.parse_grant`):
the capability must be a known one (or a glob over known ones); a file-system scope
that is not absolute is taken under the first workspace folder and saved absolute (the
policy matches effects by absolute path); a browser scope given as a URL is saved as its
host. A bad row is a `BadRule` naming the row, and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent.policy import KNOWN_CAPABILITIES, BadGrant, parse_grant
from agent.settings import PermissionRule

DECISIONS = ("allow", "ask", "deny")


class BadRule(ValueError):
    """A permission row that the policy could not use."""


class PermissionsEditor(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("permissions")
        self.table.setHorizontalHeaderLabels(["capability", "scope", "decision"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(150)
        self.table.setColumnWidth(0, 150)
        self.table.setToolTip(
            "Checked before the defaults, first match wins. Capabilities: "
            + ", ".join(KNOWN_CAPABILITIES)
            + ". Scope: a path (relative ones are under the first workspace folder), "
            "a site (example.com), a command pattern, or * for all."
        )
        add = QPushButton("Add rule")
        add.clicked.connect(lambda: self.add_rule("fs.write", "*", "ask"))
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_selected)
        side = QVBoxLayout()
        side.addWidget(add)
        side.addWidget(remove)
        side.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.table, 1)
        row.addLayout(side)

    def set_rules(self, rules: Sequence[PermissionRule]) -> None:
        self.table.setRowCount(0)
        for rule in rules:
            self.add_rule(rule.capability, rule.scope, rule.decision)

    def add_rule(self, capability: str, scope: str, decision: str) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(capability))
        self.table.setItem(row, 1, QTableWidgetItem(scope))
        choice = QComboBox()
        choice.addItems(DECISIONS)
        choice.setCurrentText(decision)
        self.table.setCellWidget(row, 2, choice)
        return row

    def _remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)

    def rows(self) -> list[tuple[str, str, str]]:
        out = []
        for row in range(self.table.rowCount()):
            cap, scope = (self.table.item(row, c) for c in (0, 1))
            choice = self.table.cellWidget(row, 2)
            assert isinstance(choice, QComboBox)
            out.append(
                (
                    cap.text().strip() if cap else "",
                    scope.text().strip() if scope else "",
                    choice.currentText(),
                )
            )
        return out

    def rules(self, roots: Sequence[Path]) -> list[dict[str, Any]]:
        """The rows as config rules, checked and normalised; `BadRule` for a bad one."""
        return [checked_rule(i + 1, *row, roots) for i, row in enumerate(self.rows())]


def checked_rule(
    number: int, capability: str, scope: str, decision: str, roots: Sequence[Path]
) -> dict[str, Any]:
    if decision not in DECISIONS:
        raise BadRule(f"permission rule {number}: decision must be allow, ask or deny")
    try:
        rule = parse_grant(f"{capability}:{scope or '*'}", roots)
    except BadGrant as exc:
        message = str(exc).replace("--allow ", "")
        raise BadRule(f"permission rule {number}: {message}") from exc
    return {"capability": rule.capability, "scope": rule.scope, "decision": decision}
