"""Imports flow one way: porting and records record events; events and
delivery turn them into calls and never reach back up (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "porthook"
LOWER = ("events", "delivery")
UPPER = ("porthook.porting", "porthook.records", "porthook.catalog")
# The description of seed 002's schemas (field order, names): pure data that
# imports nothing of porthook, so the ``records`` format may read it.
LEAVES = ("porthook.records.registry",)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _reaches_up(name: str) -> bool:
    if any(name == leaf or name.startswith(leaf + ".") for leaf in LEAVES):
        return False
    return any(name == upper or name.startswith(upper + ".") for upper in UPPER)


def _modules(*domains: str) -> list[Path]:
    return sorted(p for d in domains for p in (PACKAGE / d).rglob("*.py"))


@pytest.mark.parametrize("path", _modules(*LOWER), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_events_and_delivery_do_not_import_porting_or_records(path: Path) -> None:
    upward = sorted(name for name in _imports(path) if _reaches_up(name))
    assert upward == [], f"{path.relative_to(PACKAGE)} imports {upward}"


@pytest.mark.parametrize("leaf", LEAVES)
def test_the_allowed_leaves_import_nothing_of_porthook(leaf: str) -> None:
    path = PACKAGE.parent / (leaf.replace(".", "/") + ".py")
    assert sorted(n for n in _imports(path) if n.startswith("porthook")) == []


def test_the_check_sees_an_upward_import() -> None:
    # ``from porthook.porting import defaults`` names both the package and the module.
    assert _reaches_up("porthook.porting.defaults")
    assert _reaches_up("porthook.records")
    assert not _reaches_up("porthook.records.registry")
    assert not _reaches_up("porthook.delivery.fanout")
