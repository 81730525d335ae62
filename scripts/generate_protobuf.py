"""Build the dev server's protobuf descriptors from the upstream Kubernetes ``generated.proto``.

Go clients (kubectl 1.32 and later) send built-in kinds as protobuf. The dev server decodes them
with the ``protobuf`` library, which needs the message descriptors of those kinds. This script
compiles the ``generated.proto`` files of ``k8s.io/api`` and ``k8s.io/apimachinery`` at
:data:`K8S_VERSION` (and gnostic's ``OpenAPIv2.proto``, in which kubectl 1.20 reads OpenAPI v2)
with protoc (``grpcio-tools``), keeps only the messages reachable from the kinds the dev server
serves, and writes one ``FileDescriptorSet`` to ``src/kontinue/devserver/kubernetes.binpb``.

protoc knows the wire format but not the JSON one: that lives in the Go struct tags. So each
field's ``json_name`` is set to its Go field's ``json`` tag (``name,omitempty``, or ``,inline``
for an embedded struct), with ``,pointer`` appended when the Go field is a pointer (a pointer
that was sent is kept even when it holds a zero value). Source comments are kept only where they
document a message or a field (the OpenAPI descriptions); their spans are dropped.

The module sources come from Go's module cache (``go mod download``, through the pinned module
in ``tools/controlplane``), so this needs Go. ``--check`` regenerates in memory and fails when the
committed file differs; without Go it says so in one line and succeeds.

Usage: ``python scripts/generate_protobuf.py [--check]``
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "src" / "kontinue" / "devserver" / "kubernetes.binpb"
GO_MODULE = ROOT / "tools" / "controlplane"
K8S_VERSION = "v0.37.2"
GNOSTIC = "github.com/google/gnostic-models"

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
# The kinds the dev server accepts as protobuf, and the envelope they come in.
ROOTS = (
    *(f"k8s.io.api.core.v1.{kind}" for kind in ("Namespace", "ConfigMap", "Secret")),
    *(f"k8s.io.api.core.v1.{kind}" for kind in ("ServiceAccount", "Event", "Pod")),
    "k8s.io.api.events.v1.Event",
    "k8s.io.api.coordination.v1.Lease",
    "k8s.io.api.batch.v1.Job",
    f"{META}.DeleteOptions",
    "k8s.io.apimachinery.pkg.runtime.Unknown",
    "openapi.v2.Document",
)
PROTO_FILES = (
    "k8s.io/api/core/v1/generated.proto",
    "k8s.io/api/events/v1/generated.proto",
    "k8s.io/api/coordination/v1/generated.proto",
    "k8s.io/api/batch/v1/generated.proto",
    "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto",
    "openapiv2/OpenAPIv2.proto",
)
# Messages whose JSON form is not their fields (they marshal JSON by hand in Go); the dev
# server converts them itself, so they need no struct tags.
SPECIAL = {
    f"{META}.Time",
    f"{META}.MicroTime",
    f"{META}.Duration",
    f"{META}.FieldsV1",
    "k8s.io.apimachinery.pkg.runtime.RawExtension",
    "k8s.io.apimachinery.pkg.runtime.Unknown",
    "k8s.io.apimachinery.pkg.runtime.TypeMeta",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
}
# descriptor.proto field numbers used in SourceCodeInfo paths.
_MESSAGE_TYPE, _FIELD = 4, 2


class GenerationError(Exception):
    """The upstream sources are missing or do not look as expected."""


# Locating the sources ------------------------------------------------------------------------


def module_dirs() -> dict[str, Path]:
    """Module path -> directory in Go's module cache (downloaded through the pinned module)."""
    modules = [f"k8s.io/api@{K8S_VERSION}", f"k8s.io/apimachinery@{K8S_VERSION}", GNOSTIC]
    result = subprocess.run(
        ["go", "mod", "download", "-json", *modules],
        cwd=GO_MODULE,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise GenerationError(f"go mod download failed:\n{result.stdout}{result.stderr}")
    decoder = json.JSONDecoder()
    text, dirs = result.stdout.strip(), {}
    while text:
        info, end = decoder.raw_decode(text)
        dirs[info["Path"]] = Path(info["Dir"])
        text = text[end:].strip()
    return dirs


def compile_protos(dirs: dict[str, Path]) -> descriptor_pb2.FileDescriptorSet:
    """protoc over :data:`PROTO_FILES`, with imports and source comments."""
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        include = Path(tmp)
        (include / "k8s.io").mkdir()
        (include / "k8s.io" / "api").symlink_to(dirs["k8s.io/api"])
        (include / "k8s.io" / "apimachinery").symlink_to(dirs["k8s.io/apimachinery"])
        (include / "openapiv2").symlink_to(dirs[GNOSTIC] / "openapiv2")
        out = include / "out.binpb"
        # protoc warns about the unused imports of the upstream files: only failures matter.
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"-I{include}",
                f"-I{well_known}",
                "--include_imports",
                "--include_source_info",
                f"--descriptor_set_out={out}",
                *PROTO_FILES,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise GenerationError(f"protoc failed:\n{result.stderr}")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


# Go struct tags ------------------------------------------------------------------------------

_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.MULTILINE | re.DOTALL)
_FIELD_LINE = re.compile(r"^\t(?:(\w+)\s+)?(\S+)\s+`([^`]*)`", re.MULTILINE)
_TAG = re.compile(r'(\w+):"([^"]*)"')


@dataclass(frozen=True)
class GoField:
    """What a Go struct field's declaration says about its JSON form."""

    json_tag: str
    pointer: bool

    @property
    def encoded(self) -> str:
        """The field's ``json_name`` in the descriptor."""
        return f"{self.json_tag},pointer" if self.pointer else self.json_tag


def go_structs(directory: Path) -> dict[str, dict[int, GoField]]:
    """Struct name -> protobuf field number -> Go field, for one Go package."""
    structs: dict[str, dict[int, GoField]] = {}
    for path in sorted(directory.glob("*.go")):
        if path.name.endswith("_test.go") or path.name.startswith(("zz_", "generated.")):
            continue
        for match in _STRUCT.finditer(path.read_text()):
            fields: dict[int, GoField] = {}
            for _, go_type, tags in _FIELD_LINE.findall(match.group(2)):
                tag = dict(_TAG.findall(tags))
                if "protobuf" not in tag or tag["protobuf"] == "-" or "json" not in tag:
                    continue
                number = int(tag["protobuf"].split(",")[1])
                fields[number] = GoField(tag["json"], go_type.startswith("*"))
            structs[match.group(1)] = fields
    return structs


# Pruning -------------------------------------------------------------------------------------


def _messages(fds: descriptor_pb2.FileDescriptorSet) -> dict[str, descriptor_pb2.DescriptorProto]:
    found: dict[str, descriptor_pb2.DescriptorProto] = {}

    def add(prefix: str, message: descriptor_pb2.DescriptorProto) -> None:
        found[f"{prefix}.{message.name}"] = message
        for nested in message.nested_type:
            add(f"{prefix}.{message.name}", nested)

    for file in fds.file:
        for message in file.message_type:
            add(file.package, message)
    return found


def reachable(fds: descriptor_pb2.FileDescriptorSet) -> set[str]:
    """Full names of the messages the roots refer to, directly or not."""
    messages = _messages(fds)
    seen: set[str] = set()
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in messages:
            raise GenerationError(f"message {name} is not in the compiled protos")
        seen.add(name)
        for field in messages[name].field:
            if field.type_name:
                todo.append(field.type_name.lstrip("."))
    return seen


def _prune_source_info(
    file: descriptor_pb2.FileDescriptorProto, kept: dict[int, int]
) -> descriptor_pb2.SourceCodeInfo:
    """Only the comments of kept messages and their fields, renumbered, without spans."""
    info = descriptor_pb2.SourceCodeInfo()
    for location in file.source_code_info.location:
        path = list(location.path)
        is_message = len(path) == 2 and path[0] == _MESSAGE_TYPE
        is_field = len(path) == 4 and path[0] == _MESSAGE_TYPE and path[2] == _FIELD
        comment = location.leading_comments.strip()
        if not (is_message or is_field) or not comment or path[1] not in kept:
            continue
        path[1] = kept[path[1]]
        info.location.add(path=path, leading_comments=location.leading_comments)
    return info


def annotate(
    file: descriptor_pb2.FileDescriptorProto,
    message: descriptor_pb2.DescriptorProto,
    structs: dict[str, dict[int, GoField]],
) -> None:
    """Set each field's ``json_name`` from the Go struct of the message."""
    full = f"{file.package}.{message.name}"
    if full in SPECIAL or not file.package.startswith("k8s.io."):
        return
    if message.name not in structs:
        raise GenerationError(f"no Go struct for {full}")
    go_fields = structs[message.name]
    for field in message.field:
        if field.number not in go_fields:
            raise GenerationError(f"no Go field for {full}.{field.name} ({field.number})")
        field.json_name = go_fields[field.number].encoded


def prune(
    fds: descriptor_pb2.FileDescriptorSet, dirs: dict[str, Path]
) -> descriptor_pb2.FileDescriptorSet:
    """The reachable messages only, annotated with their JSON form, in dependency order."""
    keep = reachable(fds)
    out = descriptor_pb2.FileDescriptorSet()
    for file in fds.file:
        kept_indexes = {}
        messages = []
        for index, message in enumerate(file.message_type):
            if f"{file.package}.{message.name}" in keep:
                kept_indexes[index] = len(messages)
                messages.append(message)
        if not messages:
            continue
        structs: dict[str, dict[int, GoField]] = {}
        go_package = file.options.go_package
        for module, directory in dirs.items():
            if go_package.startswith(module + "/"):
                structs = go_structs(directory / go_package[len(module) + 1 :])
        pruned = descriptor_pb2.FileDescriptorProto()
        pruned.CopyFrom(file)
        for cleared in ("message_type", "dependency", "source_code_info"):
            pruned.ClearField(cleared)
        for message in messages:
            copy = pruned.message_type.add()
            copy.CopyFrom(message)
            annotate(file, copy, structs)
        used = {
            field.type_name.lstrip(".").rsplit(".", 1)[0]
            for message in messages
            for nested in [message, *message.nested_type]
            for field in nested.field
            if field.type_name
        }
        pruned.dependency.extend(
            dep
            for dep in file.dependency
            if any(_package_of(fds, dep) == package for package in used)
        )
        if file.package.startswith("k8s.io."):  # the OpenAPI descriptions of the kinds
            pruned.source_code_info.CopyFrom(_prune_source_info(file, kept_indexes))
        out.file.append(pruned)
    return out


def _package_of(fds: descriptor_pb2.FileDescriptorSet, name: str) -> str:
    return next(f.package for f in fds.file if f.name == name)


def generate() -> bytes:
    """The descriptor file's bytes (raises GenerationError)."""
    dirs = module_dirs()
    return prune(compile_protos(dirs), dirs).SerializeToString(deterministic=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    if shutil.which("go") is None:
        if args.check:
            print("generate_protobuf: skipped, Go is not installed (it finds k8s.io/api)")
            return 0
        print("generate_protobuf: Go is needed to find k8s.io/api in its module cache")
        return 1
    try:
        data = generate()
    except GenerationError as exc:
        print(f"generate_protobuf: {exc}", file=sys.stderr)
        return 1
    rel = OUTPUT.relative_to(ROOT)
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_bytes() != data:
            print(f"{rel} is out of date: run python scripts/generate_protobuf.py")
            return 1
        print(f"{rel} is up to date")
        return 0
    OUTPUT.write_bytes(data)
    print(f"wrote {rel} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
