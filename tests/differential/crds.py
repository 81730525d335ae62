"""The Gadget CRD: one of each schema feature the differential tests compare."""

from __future__ import annotations

from typing import Any

GROUP = "diff.kontinue.cloud"
PLURAL = "gadgets"
KIND = "Gadget"
VERSION = "v1"
GADGET_NAME = f"{PLURAL}.{GROUP}"

GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": GADGET_NAME},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "gadget", "kind": KIND, "shortNames": ["gd"]},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "selectableFields": [{"jsonPath": ".spec.color"}],
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                    {
                        "name": "Phase",
                        "type": "string",
                        "jsonPath": ".status.phase",
                        "description": "Where the gadget is",
                    },
                    {"name": "Replicas", "type": "string", "jsonPath": ".spec.replicas"},
                    {"name": "Tags", "type": "string", "jsonPath": ".spec.tags", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "self.size <= self.maxSize",
                                        "message": "size must not exceed maxSize",
                                    }
                                ],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 0},
                                    "maxSize": {"type": "integer", "default": 10},
                                    "color": {
                                        "type": "string",
                                        "enum": ["red", "green", "blue"],
                                        "default": "red",
                                    },
                                    "replicas": {"x-kubernetes-int-or-string": True},
                                    "tags": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "x-kubernetes-list-type": "set",
                                    },
                                    "ports": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["name"],
                                        "items": {
                                            "type": "object",
                                            "required": ["name"],
                                            "properties": {
                                                "name": {"type": "string"},
                                                "port": {"type": "integer", "default": 80},
                                            },
                                        },
                                    },
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                    "labels": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "phase": {"type": "string"},
                                    "observedGeneration": {"type": "integer"},
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


def gadget(name: str, size: int = 1, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {"name": name},
        "spec": {"size": size, **spec},
    }
