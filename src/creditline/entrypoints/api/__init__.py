"""The HTTP API: a FastAPI application over :class:`creditline.Creditline`.

``create_app(creditline, settings=ApiSettings(...))`` builds it; ``creditline serve``
runs it under uvicorn (:mod:`creditline.entrypoints.api.server`). Errors answer RFC 9457
``application/problem+json`` bodies, their status and type taken from one table
(:data:`creditline.entrypoints.api.problems.PROBLEMS`).
"""

from creditline.entrypoints.api.app import create_app
from creditline.entrypoints.api.problems import PROBLEM_JSON, PROBLEMS, STATUS, problem
from creditline.entrypoints.api.settings import ApiSettings

__all__ = ["PROBLEMS", "PROBLEM_JSON", "STATUS", "ApiSettings", "create_app", "problem"]
