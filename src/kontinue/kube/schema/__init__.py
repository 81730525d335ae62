"""CRD structural schemas (``openAPIV3Schema``) handled the way kube-apiserver handles them.

The embedded API server admits custom resources with these pure functions, in apiserver order:
:func:`prune` drops undeclared fields, :func:`apply_defaults` drops non-nullable nulls and fills
in ``default`` values, and :func:`validate` reports what the OpenAPI validator of kube-apiserver
(kube-openapi, plus the ``x-kubernetes-list-type`` checks) would reject.  :func:`check_structural`
checks a CRD version's schema the way CRD admission does, and :func:`format_invalid_message` builds
the message of a 422 ``Invalid`` Status.  Error texts, field paths and value formatting copy the Go
sources (``field.Error``, kube-openapi, apiextensions-apiserver), quirks included: e.g. errors of
``anyOf``/``oneOf``/``allOf``/``not`` carry the field ``<nil>``, ``maxLength`` reports
``Too long: value is too long``, ``int32``/``int64`` formats are stripped (not enforced) and a
whole-valued float such as ``3.0`` is an integer.

Left out: ``x-kubernetes-validations`` (CEL rules are ignored), validation-ratcheting on update,
ObjectMeta checks of embedded resources, and formats ``uri``/``duration``/``isbn*``/
``creditcard``/``rgbcolor`` (accepted unchecked).  Patterns are Go RE2 run by Python ``re`` after a
light translation; a pattern Python cannot compile is reported as invalid.
"""

from ._errors import OMITTED, FieldError, format_invalid_message
from ._pruning import apply_defaults, prune
from ._structural import check_structural
from ._unchanged import Unchanged
from ._validation import validate, validate_status

__all__ = [
    "OMITTED",
    "FieldError",
    "Unchanged",
    "apply_defaults",
    "check_structural",
    "format_invalid_message",
    "prune",
    "validate",
    "validate_status",
]
