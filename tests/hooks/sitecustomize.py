"""Test hook for live tests: makes named functions slow in every process of a live server, so a
test can kill the task worker while it is in the middle of a compute or an export.

SEGOPS_TEST_SLOW="module:function:seconds[,...]" wraps each function, once its module is
imported, to sleep that long before running. Only the live tests put this directory on PYTHONPATH.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import os
import sys
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_SLOW: dict[str, list[tuple[str, float]]] = {}
for _item in filter(None, os.environ.get("SEGOPS_TEST_SLOW", "").split(",")):
    _module, _function, _seconds = _item.split(":")
    _SLOW.setdefault(_module, []).append((_function, float(_seconds)))


def _slowed(function: Any, seconds: float) -> Any:
    @functools.wraps(function)
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return function(*args, **kwargs)

    return slow


class _SlowFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if name not in _SLOW:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            for function, seconds in _SLOW[name]:
                setattr(module, function, _slowed(getattr(module, function), seconds))

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if _SLOW:
    sys.meta_path.insert(0, _SlowFinder())
