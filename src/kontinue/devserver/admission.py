"""Defaulting and validation of built-in kinds, as their kube-apiserver strategies do it.

Only what clients observe is modelled: the defaults a real cluster fills in (so objects read back
look the same) and the validation errors that would reject a request there. One module for all
the built-in kinds' rules: they share helpers, and each kind's part is short.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import secrets
from collections.abc import Callable
from typing import Any

from kontinue.kube.schema import OMITTED, FieldError
from kontinue.kube.schema._errors import JsonValue

from .podsecurity import label_errors
from .validation import DNS1123_LABEL, name_errors

__all__ = [
    "ADMISSION",
    "Admission",
    "convert_event_from_storage",
    "convert_event_to_storage",
    "decoding_error",
    "strict_event_errors",
]

JSON = dict[str, Any]
Admission = Callable[[JSON, JSON | None], list[FieldError]]

_CONFIG_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
#: The most bytes (keys and values) a ConfigMap's or Secret's data may hold, as upstream.
MAX_DATA_BYTES = 1024 * 1024


def _required(field: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", field, detail)


def _invalid(field: str, value: object, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", field, detail, value)


def _namespace(obj: JSON, old: JSON | None) -> list[FieldError]:
    spec = obj.setdefault("spec", {})
    if old is None:
        spec.setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    labels = obj["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    return label_errors(labels)


def _config_keys(data: Any, path: str) -> list[FieldError]:
    if data is None:
        return []
    if not isinstance(data, dict):
        return [_invalid(path, data, "must be a map")]
    return [
        _invalid(
            f"{path}[{key}]",
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
            "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
            "'[-._a-zA-Z0-9]+')",
        )
        for key in data
        if not _CONFIG_KEY_RE.match(str(key))
    ]


def _configmap(obj: JSON, old: JSON | None) -> list[FieldError]:
    errors = _config_keys(obj.get("data"), "data") + _config_keys(
        obj.get("binaryData"), "binaryData"
    )
    for key, value in (obj.get("data") or {}).items():
        if not isinstance(value, str):
            errors.append(_invalid(f"data[{key}]", value, "must be a string"))
    for key, value in (obj.get("binaryData") or {}).items():
        if not _is_base64(value):
            errors.append(_invalid(f"binaryData[{key}]", value, "must be base64 encoded"))
    if not errors:
        size = _data_size(obj.get("data"), encoded=False)
        size += _data_size(obj.get("binaryData"), encoded=True)
        if size > MAX_DATA_BYTES:
            errors.append(_too_long("[]"))  # upstream names no field here
    return errors


def _data_size(data: Any, *, encoded: bool) -> int:
    """Bytes of the values of ``data`` (base64 values counted decoded), as upstream counts."""
    total = 0
    for value in (data or {}).values():
        total += len(base64.b64decode(value) if encoded else str(value).encode())
    return total


def _too_long(field: str) -> FieldError:
    return FieldError("FieldValueTooLong", field, f"may not be more than {MAX_DATA_BYTES} bytes")


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _secret(obj: JSON, old: JSON | None) -> list[FieldError]:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    errors = _config_keys(obj.get("data"), "data") + _config_keys(string_data, "stringData")
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            if not isinstance(value, str):
                errors.append(_invalid(f"stringData[{key}]", value, "must be a string"))
                continue
            data[key] = base64.b64encode(value.encode()).decode()
    for key, value in (obj.get("data") or {}).items():
        if not _is_base64(value):
            errors.append(_invalid(f"data[{key}]", "<secret>", "must be base64 encoded"))
    if not errors and _data_size(obj.get("data"), encoded=True) > MAX_DATA_BYTES:
        errors.append(_too_long("data"))
    if old is not None and old.get("immutable") and obj.get("data") != old.get("data"):
        errors.append(
            FieldError("FieldValueForbidden", "data", "field is immutable when `immutable` is set")
        )
    return errors


def _lease(obj: JSON, old: JSON | None) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    for key in ("leaseDurationSeconds", "leaseTransitions"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            errors.append(_invalid(f"spec.{key}", value, "must be an integer"))
        elif key == "leaseDurationSeconds" and value is not None and value <= 0:
            errors.append(_invalid(f"spec.{key}", value, "must be greater than 0"))
        elif key == "leaseTransitions" and value is not None and value < 0:
            errors.append(_invalid(f"spec.{key}", value, "must be greater than or equal to 0"))
    for key in ("holderIdentity", "acquireTime", "renewTime"):
        value = spec.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(_invalid(f"spec.{key}", value, "must be a string"))
    return errors


# What Go's encoding of a core/v1 Event always shows (structs and non-omitempty fields).
_EVENT_ZERO_FIELDS: tuple[tuple[str, Any], ...] = (
    ("eventTime", None),
    ("firstTimestamp", None),
    ("lastTimestamp", None),
    ("source", {}),
    ("reportingComponent", ""),
    ("reportingInstance", ""),
)


def _event(obj: JSON, old: JSON | None) -> list[FieldError]:
    errors = event_errors(obj, "reportingComponent")
    if not isinstance(obj.get("involvedObject"), dict):
        obj["involvedObject"] = {}
    for key, zero in _EVENT_ZERO_FIELDS:
        if obj.get(key) is None:
            obj[key] = copy.deepcopy(zero)
    obj.setdefault("type", "Normal")
    return errors


def event_errors(obj: JSON, controller_field: str) -> list[FieldError]:
    """kube-apiserver's legacy Event validation (``controller_field`` is how the request's
    version names the reporting controller)."""
    given = obj.get("involvedObject")
    involved: JSON = given if isinstance(given, dict) else {}
    namespace = obj["metadata"].get("namespace", "")
    inv_ns = involved.get("namespace") or ""
    mismatch = _invalid("involvedObject.namespace", inv_ns, "does not match event.namespace")
    if not obj.get("eventTime"):
        # about a cluster-scoped object (no namespace), an Event lives in "default" (or nowhere)
        if inv_ns != namespace and (inv_ns or namespace not in ("", "default")):
            return [mismatch]
        return []
    errors: list[FieldError] = []
    if not inv_ns and namespace not in ("default", "kube-system"):
        errors.append(mismatch)
    for key, field in (
        ("reportingComponent", controller_field),
        ("reportingInstance", "reportingInstance"),
        ("action", "action"),
        ("reason", "reason"),
    ):
        if not obj.get(key):
            errors.append(_required(field))
    return errors


def strict_event_errors(obj: JSON) -> list[FieldError]:
    """What an Event created through events.k8s.io/v1 must also satisfy."""
    errors = event_errors(obj, "reportingController")
    if not obj.get("eventTime"):
        errors.append(_required("eventTime"))
    if obj.get("type") not in ("Normal", "Warning"):
        errors.append(_invalid("type", "", f"has invalid value: {obj.get('type') or ''}"))
    for key in ("firstTimestamp", "lastTimestamp", "count"):
        if obj.get(key):
            errors.append(_invalid(key, "", "needs to be unset"))
    source = obj.get("source") or {}
    if source.get("component") or source.get("host"):
        errors.append(_invalid("source", "", "needs to be unset"))
    return errors


def _pull_policy(image: str) -> str:
    tail = image.rsplit("/", 1)[-1]
    if "@" in tail:
        return "IfNotPresent"
    if ":" not in tail or tail.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def pod_spec_defaults_and_errors(
    spec: Any, path: str, *, restart_policies: tuple[str, ...] | None = None
) -> list[FieldError]:
    """Default a PodSpec in place and return what a real API server would reject."""
    if not isinstance(spec, dict):
        return [_required(path)]
    errors: list[FieldError] = []
    spec.setdefault("restartPolicy", "Always" if restart_policies is None else "")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    allowed = restart_policies or ("Always", "OnFailure", "Never")
    if spec["restartPolicy"] not in allowed:
        if spec["restartPolicy"] and restart_policies is None:
            errors.append(
                FieldError(
                    "FieldValueNotSupported",
                    f"{path}.restartPolicy",
                    "supported values: " + ", ".join(f'"{p}"' for p in allowed),
                    spec["restartPolicy"],
                )
            )
        else:
            errors.append(
                _required(
                    f"{path}.restartPolicy",
                    "valid values: " + ", ".join(f'"{p}"' for p in allowed),
                )
            )
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        errors.append(_required(f"{path}.containers"))
        containers = []
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(group) or []):
            cpath = f"{path}.{group}[{i}]"
            if not isinstance(container, dict):
                errors.append(_invalid(cpath, container, "must be an object"))
                continue
            name = container.get("name")
            if not name:
                errors.append(_required(f"{cpath}.name"))
            else:
                errors += [
                    _invalid(f"{cpath}.name", name, p) for p in name_errors(name, DNS1123_LABEL)
                ]
                if name in seen:
                    errors.append(FieldError("FieldValueDuplicate", f"{cpath}.name", "", name))
                seen.add(name)
            image = container.get("image")
            if not image:
                errors.append(_required(f"{cpath}.image"))
            else:
                container.setdefault("imagePullPolicy", _pull_policy(str(image)))
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for j, env in enumerate(container.get("env") or []):
                if not isinstance(env, dict) or not env.get("name"):
                    errors.append(_required(f"{cpath}.env[{j}].name"))
    return errors


_POD_MUTABLE = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")
_POD_IMMUTABLE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
    "to 1 if it was previously negative)"
)


def _immutable_pod_spec(spec: Any) -> Any:
    """The part of a pod spec an update may not change (images and a few fields may)."""
    if not isinstance(spec, dict):
        return spec
    kept = {k: v for k, v in spec.items() if k not in _POD_MUTABLE}
    for group in ("containers", "initContainers"):
        if isinstance(kept.get(group), list):
            kept[group] = [
                {k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                for c in kept[group]
            ]
    return kept


def _pod(obj: JSON, old: JSON | None) -> list[FieldError]:
    if old is not None:
        spec = obj.get("spec")
        images_missing = isinstance(spec, dict) and any(
            isinstance(c, dict) and not c.get("image") for c in spec.get("containers") or []
        )
        if images_missing or _immutable_pod_spec(spec) != _immutable_pod_spec(old.get("spec")):
            return [FieldError("FieldValueForbidden", "spec", _POD_IMMUTABLE_MESSAGE)]
        return []
    errors = pod_spec_defaults_and_errors(obj.get("spec"), "spec")
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")  # Priority admission
        _default_tolerations(spec)
        _service_account_volume(spec)
    obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    return errors


_NOT_READY_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
_TOKEN_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _default_tolerations(spec: JSON) -> None:
    """DefaultTolerationSeconds admission: tolerate a not-ready or unreachable node for 300 s."""
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = []
    for key in _NOT_READY_TAINTS:
        if not any(
            isinstance(t, dict)
            and (t.get("key") == key or (not t.get("key") and t.get("operator") == "Exists"))
            and t.get("effect") in (None, "", "NoExecute")
            for t in tolerations
        ):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    spec["tolerations"] = tolerations


def _service_account_volume(spec: JSON) -> None:
    """ServiceAccount admission: the projected token, CA and namespace at the usual path."""
    if spec.get("automountServiceAccountToken") is False:
        return
    containers = [
        c
        for group in ("initContainers", "containers")
        for c in spec.get(group) or []
        if isinstance(c, dict)
    ]
    listed = spec.get("volumes")
    volumes: list[Any] = listed if isinstance(listed, list) else []
    name = "kube-api-access-" + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    volumes.append(
        {
            "name": name,
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                    {
                        "downwardAPI": {
                            "items": [
                                {
                                    "path": "namespace",
                                    "fieldRef": {
                                        "apiVersion": "v1",
                                        "fieldPath": "metadata.namespace",
                                    },
                                }
                            ]
                        }
                    },
                ],
                "defaultMode": 420,
            },
        }
    )
    spec["volumes"] = volumes
    for container in containers:
        mounts = container.get("volumeMounts")
        mounts = mounts if isinstance(mounts, list) else []
        if not any(isinstance(m, dict) and m.get("mountPath") == _TOKEN_MOUNT for m in mounts):
            mounts.append({"name": name, "readOnly": True, "mountPath": _TOKEN_MOUNT})
        container["volumeMounts"] = mounts


def _job_status(status: JSON) -> list[FieldError]:
    """What kube-apiserver checks of a finished Job's status (the controller, or whoever
    manages the Job, must say why it is finishing before it says it finished)."""
    true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    errors: list[FieldError] = []
    finished = {"Complete", "Failed"} & true
    if "Complete" in true and not status.get("completionTime"):
        errors.append(
            _required("status.completionTime", "completionTime is required for Complete jobs")
        )
    for done, target in (("Complete", "SuccessCriteriaMet"), ("Failed", "FailureTarget")):
        if done in true and target not in true:
            why = f"cannot set {done}=True condition without the {target}=true condition"
            errors.append(FieldError("FieldValueInvalid", "status.conditions", why, OMITTED))
    if finished and not status.get("startTime"):
        errors.append(_required("status.startTime", "startTime is required for finished job"))
    if finished and int(status.get("active") or 0) > 0:
        errors.append(
            _invalid("status.active", status["active"], "active>0 is invalid for finished job")
        )
    return errors


def _job(obj: JSON, old: JSON | None) -> list[FieldError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [_required("spec")]
    meta = obj["metadata"]
    errors: list[FieldError] = []
    name = meta.get("name", "")
    if len(name) > 63 and not spec.get("manualSelector"):  # it is the job-name label's value
        errors.append(_invalid("spec.template.labels", name, "must be no more than 63 bytes"))
    if old is not None:
        if spec.get("template") != old.get("spec", {}).get("template"):
            errors.append(
                FieldError(
                    "FieldValueInvalid",
                    "spec.template",
                    "field is immutable",
                    JsonValue(spec.get("template")),
                )
            )
        if obj.get("status") != old.get("status"):
            errors += _job_status(obj.get("status") or {})
        return errors
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    spec.setdefault(
        "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    )
    for key in (
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ):
        value = spec.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            errors.append(_invalid(f"spec.{key}", value, "must be greater than or equal to 0"))
    uid = meta["uid"]
    selector_labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "controller-uid": uid,
    }
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template = spec.get("template")
    if not isinstance(template, dict):
        errors.append(_required("spec.template"))
        return errors
    tmeta = template.setdefault("metadata", {})
    labels = tmeta.setdefault("labels", {})
    if not spec.get("manualSelector"):
        labels.update(selector_labels)
        labels["batch.kubernetes.io/job-name"] = name
        labels["job-name"] = name
    if not meta.get("labels"):  # a Job without labels gets its pods' (as upstream defaults it)
        meta["labels"] = dict(labels)
    errors += pod_spec_defaults_and_errors(
        template.get("spec"), "spec.template.spec", restart_policies=("OnFailure", "Never")
    )
    obj["status"] = {}
    return errors


ADMISSION: dict[str, Admission] = {
    "/namespaces": _namespace,
    "/configmaps": _configmap,
    "/secrets": _secret,
    "/events": _event,
    "/pods": _pod,
    "batch/jobs": _job,
    "coordination.k8s.io/leases": _lease,
}


# events.k8s.io/v1 <-> core/v1 Event ----------------------------------------------------------

_EVENT_RENAMES = (
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingController", "reportingComponent"),
)


def convert_event_to_storage(obj: JSON) -> JSON:
    """An events.k8s.io/v1 Event in the core/v1 shape it is stored in."""
    out = dict(obj)
    for new, old in _EVENT_RENAMES:
        if new in out:
            out[old] = out.pop(new)
    out["apiVersion"] = "v1"
    return out


def convert_event_from_storage(obj: JSON) -> JSON:
    """A stored core/v1 Event as events.k8s.io/v1 shows it."""
    out = dict(obj)
    for new, old in _EVENT_RENAMES:
        if old in out:
            out[new] = out.pop(old)
    for key in ("reportingController", "reportingInstance"):  # omitempty in events.k8s.io/v1
        if out.get(key) == "":
            del out[key]
    out["apiVersion"] = "events.k8s.io/v1"
    return out


# What Go's JSON decoding refuses before any validation -----------------------------------------

_B64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def go_base64_error(text: str) -> int | None:
    """Where Go's ``base64.StdEncoding`` stops decoding ``text`` (None when it decodes)."""
    src = text.encode()
    si, n = 0, len(src)
    while si < n:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return si - j  # an incomplete quantum (the encoding is padded)
            char = src[si]
            si += 1
            if char in _B64:
                j += 1
                continue
            if char in b"\r\n":
                continue
            if char != ord("=") or j < 2:
                return si - 1
            if j == 2:  # "==" expected: skip newlines, then the second "="
                while si < n and src[si] in b"\r\n":
                    si += 1
                if si == n:
                    return n
                if src[si] != ord("="):
                    return si - 1
                si += 1
            while si < n and src[si] in b"\r\n":
                si += 1
            return si if si < n else None
    return None


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "null"


def _decode_map(kind: str, obj: JSON, key: str, go_type: str, base64_values: bool) -> str | None:
    data = obj.get(key)
    if data is None:
        return None
    if not isinstance(data, dict):
        return (
            f"json: cannot unmarshal {_go_type(data)} into Go struct field {kind}.{key} of type "
            f"map[string]{go_type}"
        )
    for value in data.values():
        if value is None:
            continue
        if not isinstance(value, str):
            return (
                f"json: cannot unmarshal {_go_type(value)} into Go struct field {kind}.{key} of "
                f"type {go_type}"
            )
        if base64_values and (at := go_base64_error(value)) is not None:
            return f"illegal base64 data at input byte {at}"
    return None


def decoding_error(kind: str, obj: JSON) -> str | None:
    """Why kube-apiserver could not decode ``obj`` into its Go type (ConfigMap and Secret data),
    in Go's words, or None."""
    if kind == "ConfigMap":
        return _decode_map(kind, obj, "data", "string", False) or _decode_map(
            kind, obj, "binaryData", "[]uint8", True
        )
    if kind == "Secret":
        return _decode_map(kind, obj, "data", "[]uint8", True) or _decode_map(
            kind, obj, "stringData", "string", False
        )
    return None
