"""Every call of the official admin SDK (`segops-admin` 0.2.2, unmodified) and every command of its
CLI is accounted for, in one table: either in scope and driven by a named live-server test (the
row is checked: the test exists and its code, or a fixture it uses, makes that call), or out of
scope (spec §10) and answering, here against a real server, a 404 whose detail says the feature is
not part of this installation. The SDK's calls and commands are read from the installed package,
so one the table does not name fails by name.

Counted: the public methods of the client's resource namespaces and the CLI's command table; the
low-level `http` escape hatch and `segops_admin.webhook` (no server route) are not resources."""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from segops_admin import SegOpsAdmin, SegOpsApiError
from segops_admin._cli import COMMANDS
from segops_admin._resource import Resource

from tests import test_sdk_admin as sdk
from tests.test_sdk_admin import World, _cli

pytestmark = pytest.mark.live


@dataclass(frozen=True)
class Exercised:
    """In scope: driven against a live server by `module::test`."""

    where: str


@dataclass(frozen=True)
class OutOfScope:
    """Spec §10: answers 404 with `<feature> is not part of this installation.`"""

    feature: str
    call: Callable[[SegOpsAdmin], Any] | tuple[str, ...]  # an SDK call, or the CLI's arguments


ADMIN = "tests.test_sdk_admin::"
ACTIVATIONS = "tests.test_sdk_admin_activations::"
ANALYTICS = "tests.test_sdk_admin_analytics::"
IDENTITY = "tests.test_sdk_admin_identity::"
SCHEMAS = "tests.test_sdk_admin_schemas::"
MORE = "tests.test_sdk_admin_more::"

PIM = "The product catalog (PIM)"
PRODUCT_SEGMENTS = "Product segments"
AI_REACH = "AI visibility"
AI_PAGES = "AI landing pages"

SEGMENT_LIST = Exercised(ADMIN + "test_list_is_the_page_number_envelope_and_iterate_walks_every_page")
SEGMENT_CREATE = Exercised(ADMIN + "test_create_returns_the_segment_and_get_reads_it_back")
SEGMENT_VERSIONS = Exercised(ADMIN + "test_versions_list_every_saved_definition")
SCHEMA_CRUD = Exercised(SCHEMAS + "test_schemas_create_get_list_and_iterate")
ACTIVATION_CRUD = Exercised(ACTIVATIONS + "test_activations_create_get_and_list")
ACTIVATION_SYNC = Exercised(
    ACTIVATIONS + "test_activations_update_activates_with_a_full_sync_and_sync_queues_another"
)
EXPLORER = Exercised(ADMIN + "test_explorer_search_get_and_events")
EXPLAIN = Exercised(ADMIN + "test_explorer_segments_and_explain")
OVERVIEW = Exercised(ANALYTICS + "test_analytics_overview_and_usage")
TRENDS = Exercised(ANALYTICS + "test_analytics_segments_and_overlap")
CSV = b"sku,name\nsku-1,Shoe\n"

METHODS: dict[str, Exercised | OutOfScope] = {
    "segments.list": SEGMENT_LIST,
    "segments.iterate": SEGMENT_LIST,
    "segments.get": SEGMENT_CREATE,
    "segments.create": Exercised(  # and by every module's set-up, _set_up
        ADMIN + "test_a_create_retried_after_a_lost_answer_replays_instead_of_creating_twice"
    ),
    "segments.update": SEGMENT_VERSIONS,
    "segments.delete": Exercised(
        ADMIN + "test_a_create_retried_after_a_lost_answer_replays_instead_of_creating_twice"
    ),
    "segments.preview": Exercised(ADMIN + "test_preview_counts_samples_and_shows_the_sql"),
    "segments.estimate": Exercised(ANALYTICS + "test_segments_estimate_counts_the_saved_rule"),
    "segments.versions": SEGMENT_VERSIONS,
    "segments.recompute": Exercised(ADMIN + "test_recompute_is_run_by_the_worker_process"),
    "segments.members": Exercised(ADMIN + "test_members_lists_the_computed_users"),
    "segments.membership": Exercised(ADMIN + "test_membership_answers_the_delivery_question"),
    "segments.export": Exercised(ADMIN + "test_export_writes_the_members_to_a_file_the_key_downloads"),
    "schemas.list": SCHEMA_CRUD,
    "schemas.iterate": SCHEMA_CRUD,
    "schemas.get": SCHEMA_CRUD,
    "schemas.create": SCHEMA_CRUD,
    "schemas.update": Exercised(SCHEMAS + "test_reject_and_warn_apply_to_events_sent_over_http"),
    "schemas.delete": Exercised(SCHEMAS + "test_schemas_refusals_and_delete"),
    "schemas.infer": Exercised(SCHEMAS + "test_schemas_infer_from_sample_events"),
    "schemas.validate": Exercised(SCHEMAS + "test_schemas_validate"),
    "activations.list": ACTIVATION_CRUD,
    "activations.iterate": ACTIVATION_CRUD,
    "activations.get": ACTIVATION_CRUD,
    "activations.create": ACTIVATION_CRUD,
    "activations.update": ACTIVATION_SYNC,
    "activations.delete": Exercised(ACTIVATIONS + "test_activations_delete"),
    "activations.sync": ACTIVATION_SYNC,
    "users.search": EXPLORER,
    "users.get": EXPLORER,
    "users.events": EXPLORER,
    "users.segments": EXPLAIN,
    "users.explain": EXPLAIN,
    "users.publish_sandbox": Exercised(
        ANALYTICS + "test_users_publish_sandbox_answers_entered_and_stores_nothing"
    ),
    "identity.alias": Exercised(IDENTITY + "test_alias_is_first_identify_wins"),
    "identity.merge": Exercised(
        IDENTITY + "test_merge_combines_two_ids_and_the_delivery_api_answers_for_the_survivor"
    ),
    "analytics.overview": OVERVIEW,
    "analytics.usage": OVERVIEW,
    "analytics.segments": TRENDS,
    "analytics.overlap": TRENDS,
    "analytics.activations": Exercised(ANALYTICS + "test_analytics_activations"),
    # out of scope
    "products.list": OutOfScope(PIM, lambda a: a.products.list()),
    "products.iterate": OutOfScope(PIM, lambda a: list(a.products.iterate())),
    "products.get": OutOfScope(PIM, lambda a: a.products.get(1)),
    "products.create": OutOfScope(PIM, lambda a: a.products.create({"sku": "sku-1", "name": "Shoe"})),
    "products.update": OutOfScope(PIM, lambda a: a.products.update(1, {"name": "Boot"})),
    "products.delete": OutOfScope(PIM, lambda a: a.products.delete(1)),
    "products.bulk_upsert": OutOfScope(PIM, lambda a: a.products.bulk_upsert([{"sku": "sku-1"}])),
    "products.score": OutOfScope(PIM, lambda a: a.products.score(1)),
    "products.score_all": OutOfScope(PIM, lambda a: a.products.score_all()),
    "products.facets": OutOfScope(PIM, lambda a: a.products.facets()),
    "products.schema": OutOfScope(PIM, lambda a: a.products.schema()),
    "products.import_csv": OutOfScope(PIM, lambda a: a.products.import_csv(CSV)),
    "products.import_status": OutOfScope(PIM, lambda a: a.products.import_status(1)),
    "products.confirm_import": OutOfScope(PIM, lambda a: a.products.confirm_import(1, {"mapping": {}})),
    "product_segments.list": OutOfScope(PRODUCT_SEGMENTS, lambda a: a.product_segments.list()),
    "product_segments.iterate": OutOfScope(PRODUCT_SEGMENTS, lambda a: list(a.product_segments.iterate())),
    "product_segments.get": OutOfScope(PRODUCT_SEGMENTS, lambda a: a.product_segments.get(1)),
    "product_segments.create": OutOfScope(
        PRODUCT_SEGMENTS, lambda a: a.product_segments.create({"name": "x"})
    ),
    "product_segments.update": OutOfScope(
        PRODUCT_SEGMENTS, lambda a: a.product_segments.update(1, {"name": "y"}, method="PUT")
    ),
    "product_segments.delete": OutOfScope(PRODUCT_SEGMENTS, lambda a: a.product_segments.delete(1)),
    "product_segments.recompute": OutOfScope(PRODUCT_SEGMENTS, lambda a: a.product_segments.recompute(1)),
    "queries.list": OutOfScope(AI_REACH, lambda a: a.queries.list()),
    "queries.iterate": OutOfScope(AI_REACH, lambda a: list(a.queries.iterate())),
    "queries.get": OutOfScope(AI_REACH, lambda a: a.queries.get(1)),
    "queries.create": OutOfScope(AI_REACH, lambda a: a.queries.create({"query_text": "best shoes"})),
    "queries.update": OutOfScope(AI_REACH, lambda a: a.queries.update(1, {"is_active": False})),
    "queries.delete": OutOfScope(AI_REACH, lambda a: a.queries.delete(1)),
    "queries.run": OutOfScope(AI_REACH, lambda a: a.queries.run(1)),
    "queries.results": OutOfScope(AI_REACH, lambda a: a.queries.results(1)),
    "queries.simulate": OutOfScope(AI_REACH, lambda a: a.queries.simulate({"query_text": "best shoes"})),
    "queries.dashboard": OutOfScope(AI_REACH, lambda a: a.queries.dashboard()),
    "queries.win_rate": OutOfScope(AI_REACH, lambda a: a.queries.win_rate({"days": 30})),
    "pages.list": OutOfScope(AI_PAGES, lambda a: a.pages.list()),
    "pages.iterate": OutOfScope(AI_PAGES, lambda a: list(a.pages.iterate())),
    "pages.get": OutOfScope(AI_PAGES, lambda a: a.pages.get(1)),
    "pages.create": OutOfScope(AI_PAGES, lambda a: a.pages.create({"slug": "shoes"})),
    "pages.update": OutOfScope(AI_PAGES, lambda a: a.pages.update(1, {"slug": "boots"})),
    "pages.delete": OutOfScope(AI_PAGES, lambda a: a.pages.delete(1)),
    "pages.bulk_generate": OutOfScope(AI_PAGES, lambda a: a.pages.bulk_generate({"queries": [1]})),
    "pages.regenerate": OutOfScope(AI_PAGES, lambda a: a.pages.regenerate(1)),
    "pages.build": OutOfScope(AI_PAGES, lambda a: a.pages.build(1, {"blocks": []})),
    "pages.publish": OutOfScope(AI_PAGES, lambda a: a.pages.publish(1)),
    "pages.export": OutOfScope(AI_PAGES, lambda a: a.pages.export(1, format="html")),
    "pages.query": OutOfScope(AI_PAGES, lambda a: a.pages.query("shoes", {"limit": 5})),
}

SEGMENTS_CLI = Exercised(MORE + "test_cli_creates_gets_and_deletes_a_segment")
MEMBERS_CLI = Exercised(MORE + "test_cli_recomputes_and_lists_the_members_by_pages")
SCHEMAS_CLI = Exercised(SCHEMAS + "test_cli_lists_and_validates")
ACTIVATIONS_CLI = Exercised(ACTIVATIONS + "test_cli_lists_and_syncs_activations")
USERS_CLI = Exercised(ANALYTICS + "test_cli_users_search_get_and_events_with_since")
ANALYTICS_CLI = Exercised(ANALYTICS + "test_cli_analytics_overview_and_usage")

# CLI arguments: "{csv}" and "{json}" stand for files the test writes.
CLI: dict[str, Exercised | OutOfScope] = {
    "segments list": Exercised(ADMIN + "test_cli_lists_segments"),
    "segments get": SEGMENTS_CLI,
    "segments create": SEGMENTS_CLI,
    "segments recompute": MEMBERS_CLI,
    "segments members": MEMBERS_CLI,
    "segments membership": Exercised(ADMIN + "test_cli_membership_and_errors"),
    "segments export": Exercised(ADMIN + "test_cli_exports_a_segment"),
    "segments delete": SEGMENTS_CLI,
    "schemas list": SCHEMAS_CLI,
    "schemas validate": SCHEMAS_CLI,
    "activations list": ACTIVATIONS_CLI,
    "activations sync": ACTIVATIONS_CLI,
    "users search": USERS_CLI,
    "users get": USERS_CLI,
    "users events": USERS_CLI,
    "analytics overview": ANALYTICS_CLI,
    "analytics usage": ANALYTICS_CLI,
    # out of scope
    "products list": OutOfScope(PIM, ("products", "list", "--page=2")),
    "products get": OutOfScope(PIM, ("products", "get", "1")),
    "products import": OutOfScope(PIM, ("products", "import", "{csv}")),
    "products bulk-upsert": OutOfScope(PIM, ("products", "bulk-upsert", "{json}")),
    "products score": OutOfScope(PIM, ("products", "score", "1")),
    "products score-all": OutOfScope(PIM, ("products", "score-all")),
    "products facets": OutOfScope(PIM, ("products", "facets")),
    "queries list": OutOfScope(AI_REACH, ("queries", "list")),
    "queries run": OutOfScope(AI_REACH, ("queries", "run", "1")),
    "queries simulate": OutOfScope(AI_REACH, ("queries", "simulate", "{json}")),
    "queries dashboard": OutOfScope(AI_REACH, ("queries", "dashboard")),
    "pages list": OutOfScope(AI_PAGES, ("pages", "list")),
    "pages get": OutOfScope(AI_PAGES, ("pages", "get", "1")),
    "pages export": OutOfScope(AI_PAGES, ("pages", "export", "1", "--format=html")),
    "pages publish": OutOfScope(AI_PAGES, ("pages", "publish", "1")),
    "pages regenerate": OutOfScope(AI_PAGES, ("pages", "regenerate", "1")),
}


def _sdk_methods() -> set[str]:
    """`namespace.method` for every public method of every resource namespace of the client."""
    client = SegOpsAdmin(api_key="sk_introspection", base_url="http://127.0.0.1:9/api")
    return {
        f"{name}.{method}"
        for name, resource in vars(client).items()
        if isinstance(resource, Resource)
        for method in dir(resource)
        if not method.startswith("_") and callable(getattr(resource, method))
    }


def _rows(table: dict[str, Exercised | OutOfScope], kind: type) -> list[str]:
    return [name for name, row in table.items() if isinstance(row, kind)]


# ── the table is complete ────────────────────────────────────────────────────


def test_every_sdk_method_is_in_the_table() -> None:
    methods = _sdk_methods()
    assert sorted(methods - set(METHODS)) == [], "SDK methods the table does not account for"
    assert sorted(set(METHODS) - methods) == [], "rows for methods the SDK does not have"


def test_every_cli_command_is_in_the_table() -> None:
    assert sorted(set(COMMANDS) - set(CLI)) == [], "CLI commands the table does not account for"
    assert sorted(set(CLI) - set(COMMANDS)) == [], "rows for commands the CLI does not have"


# ── in scope: the named test exists and makes the call ──────────────────────


def _sources(module: Any, function: Any, seen: set[str]) -> Iterator[str]:
    """The code of a test and of the module's fixtures it uses, and theirs in turn."""
    yield inspect.getsource(function)
    for parameter in inspect.signature(function).parameters:
        fixture = getattr(module, parameter, None)
        if parameter not in seen and fixture is not None and callable(fixture):
            seen.add(parameter)
            yield from _sources(module, fixture, seen)


def _drives(where: str, spelled: str) -> None:
    module_name, test_name = where.split("::")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        pytest.fail(f"{module_name} does not exist: nothing drives {spelled!r}")
    test = getattr(module, test_name, None)
    assert inspect.isfunction(test), f"{where} is not a test function"
    code = "\n".join(_sources(module, test, set()))
    assert spelled in code, f"{where} does not call {spelled!r}"


@pytest.mark.parametrize("method", _rows(METHODS, Exercised))
def test_an_in_scope_method_is_driven_by_the_named_test(method: str) -> None:
    row = METHODS[method]
    assert isinstance(row, Exercised)
    _drives(row.where, f".{method}(")


@pytest.mark.parametrize("command", _rows(CLI, Exercised))
def test_an_in_scope_cli_command_is_driven_by_the_named_test(command: str) -> None:
    row = CLI[command]
    assert isinstance(row, Exercised)
    resource, verb = command.split(" ")
    _drives(row.where, f'"{resource}", "{verb}"')


# ── out of scope: a 404 with a detail, from a real server ───────────────────


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sdk.live_world(tmp_path_factory.mktemp("sdk-admin-coverage")) as built:
        yield built


def _detail(feature: str) -> dict[str, str]:
    return {"detail": f"{feature} is not part of this installation."}


@pytest.mark.parametrize("method", _rows(METHODS, OutOfScope))
def test_an_out_of_scope_method_answers_404_with_a_detail(world: World, method: str) -> None:
    row = METHODS[method]
    assert isinstance(row, OutOfScope)
    assert callable(row.call)
    with pytest.raises(SegOpsApiError) as refused:
        row.call(world.admin)
    assert refused.value.status == 404
    assert refused.value.body == _detail(row.feature)


@pytest.mark.parametrize("command", _rows(CLI, OutOfScope))
def test_an_out_of_scope_cli_command_fails_with_the_404(world: World, command: str, tmp_path: Path) -> None:
    row = CLI[command]
    assert isinstance(row, OutOfScope)
    assert isinstance(row.call, tuple)
    files = {"{csv}": tmp_path / "products.csv", "{json}": tmp_path / "body.json"}
    files["{csv}"].write_bytes(CSV)
    files["{json}"].write_text(json.dumps([{"sku": "sku-1", "name": "Shoe"}]))

    result = _cli(world, *(str(files.get(arg, arg)) for arg in row.call))

    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    assert result.stderr == f"API error 404: {json.dumps(_detail(row.feature))}\n"
