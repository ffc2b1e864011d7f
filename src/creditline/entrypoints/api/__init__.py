"""The HTTP API: a FastAPI application over :class:`creditline.Creditline`.

``create_app(creditline)`` builds it; serve it with any ASGI server (uvicorn). Errors
answer RFC 9457 ``application/problem+json`` bodies, their status taken from one table
(:data:`creditline.entrypoints.api.problems.STATUS`).
"""

from creditline.entrypoints.api.app import create_app
from creditline.entrypoints.api.problems import PROBLEM_JSON, STATUS, problem

__all__ = ["PROBLEM_JSON", "STATUS", "create_app", "problem"]
