"""Every reader compiles a rule over a tenant's data the one way (rules/tenant_compile.py), so a
compute, a preview, an estimate, explain and the sandbox agree on dialect, saved segments and
identity edges: no module but that one calls the compiler itself."""

from __future__ import annotations

import re
from pathlib import Path

import segops_server

ROOT = Path(segops_server.__file__).parent
CALL = re.compile(r"(?<![\w.])definition_compile\(")  # not tenant_definition_compile(
ALLOWED = {ROOT / "segments" / "rules" / "compiler.py", ROOT / "segments" / "rules" / "tenant_compile.py"}


def test_only_tenant_compile_calls_the_compiler() -> None:
    callers = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if "tests" not in path.parts and path not in ALLOWED and CALL.search(path.read_text())
    ]
    assert callers == []
