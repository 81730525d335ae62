"""The root of kontinue's exceptions, and the map of all of them.

Every error kontinue raises on purpose derives from :class:`KontinueError`, so callers can tell
ours from bugs and from a dependency's exceptions (which never leak through our APIs): catch
``KontinueError`` for any of them, or a branch for one subsystem. A class that callers also catch
by a standard base keeps it beside ours (``WaitTimeout`` is a ``TimeoutError``, ``SelectorError``
a ``ValueError``).

The tree, each class under its direct base, with the package to import it from (a number in
parentheses is the exit code of the CLI)::

    KontinueError               kontinue.errors           every error kontinue raises on purpose
      WorkflowError             kontinue.sdk              a kind and a retry decision (status.error)
        RetryableError          kontinue.sdk              raise it: the attempt fails, retries go on
        NonRetryableError       kontinue.sdk              raise it: the execution fails for good
        InfrastructureError     kontinue.sdk              the platform failed; retried
        ValidationFailed        kontinue.sdk              arguments or a result break the schema
        ExecutionTimedOut       kontinue.sdk              a timeout expired (attempt, overall, poll)
        ChildFailed             kontinue.sdk              a child failed; carries its error
        ChildCanceled           kontinue.sdk              a child was canceled
        OutsideWorkflow         kontinue.sdk              a durable call outside a workflow
        InternalError           kontinue.sdk              an inconsistency in kontinue; not retried
          NonDeterminismError   kontinue.sdk              a replay departs from the history
      ClientError               kontinue.client           exit_code: the CLI's (1, or as below)
        UnknownFunction         kontinue.client           no such Function published (3)
        InvalidArguments        kontinue.client           arguments break the schema (2)
        InvalidState            kontinue.client           not allowed in this phase (4)
        ExecutionFailed         kontinue.client           an awaited execution failed (4)
        ResultMismatch          kontinue.client           the result is not of the type asked (4)
        WaitTimeout             kontinue.client           the wait ran out (5); also a TimeoutError
      KubeError                 kontinue.kube             talking to the Kubernetes API failed
        ConnectionFailed        kontinue.kube             the API server could not be reached
        AccumulatorClosed       kontinue.kube             the accumulator was closed
        ConditionUpdateFailed   kontinue.kube.conditions  a task's condition was not written
        ApiError                kontinue.kube             an error Status (reason, message, details)
          BadRequest            kontinue.kube             400
          Unauthorized          kontinue.kube             401
          Forbidden             kontinue.kube             403
          NotFound              kontinue.kube             404
          MethodNotAllowed      kontinue.kube             405
          AlreadyExists         kontinue.kube             409, reason AlreadyExists
          Conflict              kontinue.kube             409, reason Conflict (stale object)
          Gone                  kontinue.kube             410 (the resourceVersion expired)
          TooLarge              kontinue.kube             413
          Invalid               kontinue.kube             422; causes names the fields
          TooManyRequests       kontinue.kube             429; retry_after says how long
          ServerError           kontinue.kube             5xx
      SelectorError             kontinue.kube.selectors   a malformed selector; also a ValueError
      MetricsUnavailable        kontinue.worker           the metrics address cannot be bound
      DevServerError            kontinue.devserver        the dev server cannot start
      NodeSetupError            kontinue.node             the node agent cannot start
      UiError                   kontinue.ui               the web UI cannot bind its address

A few public exceptions stay outside the tree on purpose. The dev server's own are raised and
caught inside it: a client sees its answer, a ``Status`` (:class:`~kontinue.kube.ApiError` in
kontinue's clients). The pod lifecycle's are caught by the dev server and the node agent that
run it, and :mod:`kontinue.pods` imports nothing of kontinue but the clock (an import-linter
contract)::

    ApiStatus       kontinue.devserver            a refused request, answered as a Status
    BodyError       kontinue.devserver.decoding   a body nested or aliased too deeply
    Malformed       kontinue.devserver.fieldsets  fields that managedFields cannot walk
    PatchError      kontinue.devserver.patching   a patch that does not apply
    ObjectTooLarge  kontinue.devserver.storage    an object beyond the store's size limit
    StoreCompacted  kontinue.devserver.storage    a resourceVersion older than the history
    BadLogRequest   kontinue.pods                 a log query the kubelet would refuse
    ConfigError     kontinue.pods                 a container's environment cannot be built
    SpawnError      kontinue.pods                 a container's command cannot be started
    PodGone         kontinue.pods                 the pod being run was deleted or replaced

Private modules hold a few more exceptions for control flow (a plain ``def`` run unwinding to
wait, a request that needs discovery first); they never leave the package that raises them.
``tests/unit/test_error_tree.py`` checks that the two lists above name every exception class a
public module exports, each under its direct base.
"""

from __future__ import annotations

__all__ = ["KontinueError"]


class KontinueError(Exception):
    """Base class of every exception kontinue raises deliberately."""
