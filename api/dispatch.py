"""Serve several one-operation API classes from one URL, chosen by HTTP method.

Our views are one APIView per operation (OrganizationGetApi, OrganizationUpdateApi, ...),
while REST paths share a URL between GET, PATCH and DELETE, and Django routes a URL to a
single view. `by_method(get=A, patch=B)` joins them: each request is handed whole to its
operation's own view, so that authentication, permissions, parsers and serializers are
exactly those of the operation class. drf-spectacular documents one class per URL, so the
joint class also exposes each operation's handler (carrying its `extend_schema`) and answers
the schema generator's questions with the operation's policies.
"""

import functools

from rest_framework.views import APIView


class _MethodRouter(APIView):
    operations: dict[str, type[APIView]] = {}
    views: dict = {}

    def dispatch(self, request, *args, **kwargs):
        view = self.views.get(request.method.lower())
        if view is None:
            # APIView answers 405 with an Allow header listing the operations' methods.
            return super().dispatch(request, *args, **kwargs)
        return view(request, *args, **kwargs)

    def _operation(self) -> APIView | None:
        method = getattr(getattr(self, "request", None), "method", None) or ""
        operation = self.operations.get(method.lower())
        return operation() if operation else None

    # Consulted by drf-spectacular (and by APIView for methods no operation handles).
    def get_authenticators(self):
        operation = self._operation()
        return operation.get_authenticators() if operation else super().get_authenticators()

    def get_permissions(self):
        operation = self._operation()
        return operation.get_permissions() if operation else super().get_permissions()

    def get_parsers(self):
        operation = self._operation()
        return operation.get_parsers() if operation else super().get_parsers()


def _schema_handler(operation: type[APIView], method: str):
    handler = getattr(operation, method)

    @functools.wraps(handler)  # keeps the `kwargs["schema"]` set by extend_schema
    def documented(self, request, *args, **kwargs):
        raise AssertionError("unreachable: _MethodRouter.dispatch delegates every request")

    documented.__doc__ = handler.__doc__ or operation.__doc__
    return documented


def by_method(**operations: type[APIView]):
    """A view for one URL: by_method(get=OrganizationGetApi, patch=OrganizationUpdateApi)."""
    views = {method: operation.as_view() for method, operation in operations.items()}
    if "get" in views:
        views.setdefault("head", views["get"])
    attrs = {"__doc__": None, "operations": operations, "views": views}
    for method, operation in operations.items():
        attrs[method] = _schema_handler(operation, method)
    name = "".join(operation.__name__.removesuffix("Api") for operation in operations.values())
    return type(f"{name}Router", (_MethodRouter,), attrs).as_view()
