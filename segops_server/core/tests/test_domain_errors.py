"""Domain errors: services and selectors raise them, the API maps them to HTTP in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from rest_framework.exceptions import Throttled as DrfThrottled

from segops_server.core.errors import (
    Conflict,
    DomainError,
    Gone,
    Invalid,
    NotFound,
    PermissionDenied,
    Throttled,
    Unauthenticated,
    Unavailable,
    exception_handler,
)

PACKAGE = Path(__file__).resolve().parents[2]


def _imports_rest_framework(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "rest_framework" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rest_framework":
            return True
    return False


def _domain_modules() -> list[Path]:
    layers = [p for p in PACKAGE.rglob("*.py") if p.name in ("services.py", "selectors.py")]
    console = [p for p in (PACKAGE / "console").rglob("*.py") if "tests" not in p.parts]
    access = list((PACKAGE / "access").rglob("*.py"))  # the one authorization module: no DRF inside
    return sorted(p for p in layers + console + access if "tests" not in p.parts)


def test_it_finds_the_modules_it_scans() -> None:
    names = {str(p.relative_to(PACKAGE)) for p in _domain_modules()}
    assert {
        "segments/definitions/services.py",
        "segments/compute/services.py",
        "segments/delivery/selectors.py",
        "explorer/selectors.py",
        "console/access.py",
        "console/views/team.py",
        "access/policy.py",
        "access/tenants.py",
        "access/rules.py",
    } <= names


def test_it_keeps_drf_out_of_services_selectors_the_console_and_the_access_policy() -> None:
    offenders = [str(p.relative_to(PACKAGE)) for p in _domain_modules() if _imports_rest_framework(p)]
    assert offenders == []


def test_it_spots_a_drf_import_in_the_scan(tmp_path: Path) -> None:
    module = tmp_path / "services.py"
    module.write_text("from rest_framework.exceptions import ValidationError\n")
    assert _imports_rest_framework(module)
    module.write_text("import rest_framework.exceptions\n")
    assert _imports_rest_framework(module)
    module.write_text("from segops_server.core.errors import Invalid\n")
    assert not _imports_rest_framework(module)


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (Invalid("Bad input."), 400, {"detail": "Bad input."}),
        (Invalid({"detail": "One message."}), 400, {"detail": "One message."}),
        (Invalid({"cursor": ["Invalid cursor."]}), 400, {"cursor": ["Invalid cursor."]}),
        (Invalid({"role": ["Not a role."]}), 400, {"role": ["Not a role."]}),
        (Unauthenticated("Invalid API key."), 401, {"detail": "Invalid API key."}),
        (PermissionDenied("Not yours."), 403, {"detail": "Not yours."}),
        (NotFound("Segment not found."), 404, {"detail": "Segment not found."}),
        (NotFound(), 404, {"detail": "Not found."}),
        (Conflict("Already there."), 409, {"detail": "Already there."}),
        (Gone("Expired."), 410, {"detail": "Expired."}),
        (DomainError("Could not."), 400, {"detail": "Could not."}),
    ],
)
def test_it_maps_each_domain_error_to_its_status_and_body(
    db: None, error: DomainError, status: int, body: dict[str, object]
) -> None:
    response = exception_handler(error, {})
    assert response is not None
    assert response.status_code == status
    assert response.data == body


def test_it_answers_throttled_with_retry_after_and_drfs_words(db: None) -> None:
    response = exception_handler(Throttled("Slow down.", wait=7), {})
    expected = exception_handler(DrfThrottled(wait=7, detail="Slow down."), {})
    assert response is not None
    assert expected is not None
    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert response.data == expected.data


def test_it_answers_unavailable_with_503_and_retry_after(db: None) -> None:
    response = exception_handler(Unavailable("Down for now.", wait=3), {})
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "3"
    assert response.data == {"detail": "Down for now."}


def test_it_flattens_field_errors_into_messages() -> None:
    error = Invalid({"email": ["Taken."], "role": "Not a role."})
    assert error.messages() == ["Taken.", "Not a role."]
    assert str(error) == "Taken. Not a role."
