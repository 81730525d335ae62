"""The CRDs in deploy/crds/: up to date with the models, structural, and faithful to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kontinue.api import (
    RESOURCES,
    Execution,
    Resource,
    crd_manifests,
    custom_resource_definition,
    openapi_schema,
)
from kontinue.api.generate_crds import differences, main, rendered_manifests
from kontinue.kube.schema import apply_defaults, check_structural, prune, validate

from ..api_samples import SAMPLES, sample

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "deploy" / "crds"
REGENERATE = "run `.venv/bin/python -m kontinue.api.generate_crds` from the repository root"


def test_committed_crds_are_up_to_date() -> None:
    problems = differences(CRDS)
    assert not problems, f"deploy/crds is out of date ({', '.join(problems)}): {REGENERATE}"


def test_committed_files_parse_to_the_generated_crds() -> None:
    for name, crd in crd_manifests().items():
        assert yaml.safe_load((CRDS / name).read_text()) == crd, REGENERATE


@pytest.mark.parametrize("model", RESOURCES, ids=lambda m: m.__name__)
def test_crds_are_structural(model: type[Resource]) -> None:
    schema = custom_resource_definition(model)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert check_structural(schema) == []


def test_crd_names_and_columns() -> None:
    crds = {crd["spec"]["names"]["kind"]: crd for crd in crd_manifests().values()}
    short = {kind: crd["spec"]["names"]["shortNames"] for kind, crd in crds.items()}
    assert short == {
        "Execution": ["ex", "exec"],
        "Function": ["fn"],
        "Suspension": ["susp"],
        "ScheduledExecution": ["sched"],
        "ArchivedExecution": ["aex"],
    }
    columns = {
        kind: [c["name"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]]
        for kind, crd in crds.items()
    }
    assert columns == {
        "Execution": ["Function", "Phase", "Attempt", "Message", "Age"],
        "Function": ["Worker-Group", "Description", "Age"],
        "Suspension": ["Execution", "Kind", "Phase", "Resume-At", "Age"],
        "ScheduledExecution": ["Schedule", "Function", "Suspend", "Last-Schedule", "Age"],
        "ArchivedExecution": ["Function", "Phase", "Started", "Finished", "Age"],
    }
    for crd in crds.values():
        version = crd["spec"]["versions"][0]
        assert crd["spec"]["scope"] == "Namespaced"
        assert crd["spec"]["names"]["categories"] == ["kontinue"]
        assert version["subresources"] == {"status": {}}
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)


def _walk(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, node)]
    for name, sub in (node.get("properties") or {}).items():
        found += _walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        found += _walk(node["items"], f"{path}[]")
    return found


@pytest.mark.parametrize("model", RESOURCES, ids=lambda m: m.__name__)
def test_every_field_is_described_and_no_json_schema_leftovers(model: type[Resource]) -> None:
    for path, node in _walk(openapi_schema(model))[1:]:
        if path != ".metadata" and not (path.endswith("[]") and node.get("type") != "object"):
            assert node.get("description"), f"{model.__name__}{path} has no description"
        assert not {"anyOf", "allOf", "$ref", "title", "const"} & set(node), path
        if "default" in node:
            assert node["default"] is not None, path


def test_schema_conversion_details() -> None:
    spec = openapi_schema(Execution)["properties"]["spec"]["properties"]
    assert spec["arguments"] == {
        "description": spec["arguments"]["description"],
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    backoff = spec["retry"]["properties"]["backoff"]
    assert (backoff["type"], backoff["default"]) == ("string", "5s") and "pattern" in backoff
    result = spec["skip"]["properties"]["result"]
    assert "type" not in result and result["x-kubernetes-preserve-unknown-fields"] is True
    requested = spec["cancel"]["properties"]["requestedAt"]
    assert (requested["type"], requested["format"]) == ("string", "date-time")
    assert spec["retry"]["properties"]["retries"]["minimum"] == 0
    root = openapi_schema(Execution)["properties"]
    assert root["metadata"] == {"type": "object"}


@pytest.mark.parametrize("model", RESOURCES, ids=lambda m: m.__name__)
def test_samples_pass_the_schema_unchanged(model: type[Resource]) -> None:
    """What the models write, the server stores as is: nothing pruned, defaulted or rejected."""
    schema = openapi_schema(model)
    obj = sample(model)
    assert validate(obj, schema) == []
    stored = sample(model)
    prune(stored, schema)
    apply_defaults(stored, schema)
    assert stored == obj


@pytest.mark.parametrize("model", RESOURCES, ids=lambda m: m.__name__)
def test_server_defaults_equal_model_defaults(model: type[Resource]) -> None:
    """An object with only required fields gets from the server what the model fills in."""
    minimal = model.model_validate(SAMPLES[model])
    minimal_spec = {
        name: value
        for name, value in minimal.model_dump(mode="json", by_alias=True)["spec"].items()
        if name in openapi_schema(model)["properties"]["spec"].get("required", [])
    }
    wire: dict[str, Any] = {"spec": minimal_spec, "status": {}}
    apply_defaults(wire, openapi_schema(model))
    expected = model.model_validate(wire).model_dump(mode="json", by_alias=True, exclude_none=True)
    assert wire["spec"] == expected["spec"]
    assert wire["status"] == expected.get("status", {})


def test_check_reports_and_write_fixes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "--output", str(tmp_path)]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(["--output", str(tmp_path)]) == 0
    assert main(["--check", "--output", str(tmp_path)]) == 0
    first = tmp_path / next(iter(rendered_manifests()))
    first.write_text(first.read_text() + "# edited\n")
    (tmp_path / "kontinue.cloud_gadgets.yaml").write_text("stale")
    (tmp_path / "other.yaml").write_text("not ours")
    assert main(["--check", "--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "out of date" in err and "stale" in err and "other.yaml" not in err
    assert "python -m kontinue.api.generate_crds" in err
    main(["--output", str(tmp_path)])
    assert differences(tmp_path) == [] and (tmp_path / "other.yaml").exists()
