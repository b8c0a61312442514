"""sandbox: the synthetic org generator and the local API server that serves a workspace snapshot."""

from __future__ import annotations

from .generate import SIZES, GenerationSummary, generate_workspace
from .server import (
    FaultSpec,
    LoggedRequest,
    SandboxServer,
    ScriptedFault,
    ServerSettings,
    ServerStats,
    serve_forever,
)

__all__ = [
    "SIZES",
    "FaultSpec",
    "GenerationSummary",
    "LoggedRequest",
    "SandboxServer",
    "ScriptedFault",
    "ServerSettings",
    "ServerStats",
    "generate_workspace",
    "serve_forever",
]
