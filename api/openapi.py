"""The OpenAPI 3.1 description of /api/v1/ and the webhooks, served at
/api/v1/openapi.json. Tests fuzz the API from it (schemathesis), so it must stay true."""

from __future__ import annotations

from functools import cache
from typing import Any

from core.validation import CI_LINK_PATTERN

STATUSES = ["pending", "running", "passed", "failed", "error", "skipped"]
NOT_BLANK = "\\S"
BUILD_PATTERN = "^0*[1-9][0-9]{0,17}$"  # fits the database's 64-bit build numbers
COMMIT_PATTERN = "^([0-9a-fA-F]{7,64})?$"
SEMVER = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problems(*codes: int) -> dict[str, Any]:
    words = {
        400: "Bad input (a NUL character anywhere: `nul_character`): `errors` names each field and what to fix.",
        401: "Missing, unknown or revoked token (webhooks: bad signature or token).",
        403: (
            "`token_product`: the product named is not the token's (another product's, or no "
            "product at all: the same answer); or `scope_missing`: the token lacks the scope."
        ),
        404: "Unknown gate, release or integration (of the token's own product).",
        405: "Method not allowed.",
        409: "The request conflicts with the release's current state.",
        413: "Body over 1 MiB.",
        503: "`database_unavailable`: nothing was recorded; send it again after `Retry-After` seconds.",
    }
    return {
        str(code): {
            "description": words[code],
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
        for code in (*codes, 503)
    }


def _path_params() -> list[dict[str, Any]]:
    return [
        {
            "name": "product",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "example": "ios-app",
        },
        {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}, "example": "2.4.0"},
    ]


SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    },
    "ResultIn": {
        "type": "object",
        "required": ["product", "version", "gate", "status"],
        "properties": {
            "product": {"type": "string", "pattern": NOT_BLANK, "examples": ["ios-app"]},
            "version": {"type": "string", "pattern": NOT_BLANK, "examples": ["2.4.0"]},
            "build": {"type": ["string", "integer", "null"], "maxLength": 20, "examples": ["1240"]},
            "commit": {"type": ["string", "null"], "maxLength": 64},
            "gate": {"type": "string", "pattern": NOT_BLANK, "examples": ["contract"]},
            "status": {"type": "string", "enum": STATUSES},
            "run_id": {"type": ["string", "null"], "maxLength": 200},
            "url": {
                "anyOf": [
                    {"type": "string", "pattern": CI_LINK_PATTERN, "maxLength": 1000},
                    {"const": ""},
                    {"type": "null"},
                ]
            },
            "summary": {"type": ["string", "null"], "maxLength": 500},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "ResultOut": {
        "type": "object",
        "required": ["id", "duplicate", "gate_status"],
        "properties": {
            "id": {"type": "integer"},
            "duplicate": {"type": "boolean"},
            "gate_status": {"type": ["string", "null"], "enum": [*STATUSES, None]},
        },
    },
    "ReleaseIn": {
        "type": "object",
        "required": ["product", "version", "build"],
        "properties": {
            "product": {"type": "string", "pattern": NOT_BLANK},
            "version": {
                "type": "string",
                "pattern": SEMVER,
                "maxLength": 64,
                "description": "Semantic: MAJOR.MINOR.PATCH[-pre][+build]; new for the product.",
            },
            "build": {
                "oneOf": [
                    {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                    {"type": "string", "pattern": BUILD_PATTERN},
                ],
                "description": "Above the product's last build number (else 400 with the last accepted).",
            },
            "commit": {"type": ["string", "null"], "pattern": COMMIT_PATTERN},
            "branch": {"type": ["string", "null"]},
        },
    },
    "Blocker": {
        "type": "object",
        "required": ["code", "message", "url"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "url": {"type": "string", "description": "The board, at the panel that explains it."},
        },
    },
    "Verdict": {
        "type": "object",
        "required": ["decision", "ready", "blockers", "decided_by", "decided_at"],
        "properties": {
            "decision": {"type": "string", "enum": ["go", "no_go", "pending"]},
            "ready": {"type": "boolean"},
            "blockers": {"type": "array", "items": _ref("Blocker")},
            "decided_by": {"type": ["string", "null"]},
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Release": {
        "type": "object",
        "required": [
            "product",
            "version",
            "build",
            "commit",
            "branch",
            "state",
            "url",
            "verdict",
            "gates",
            "decision",
            "rollout",
            "flags",
        ],
        "properties": {
            "flags": {
                "type": "array",
                "description": "The product's feature flags: state as last read back, and whether this release ships it.",
                "items": {
                    "type": "object",
                    "required": ["key", "state", "read_at", "ships"],
                    "properties": {
                        "key": {"type": "string"},
                        "state": {"type": "string", "enum": ["on", "off", "unknown"]},
                        "read_at": {"type": ["string", "null"], "format": "date-time"},
                        "ships": {"type": "boolean"},
                    },
                },
            },
            "product": {"type": "string"},
            "version": {"type": "string"},
            "build": {"type": "string"},
            "commit": {"type": "string"},
            "branch": {"type": "string"},
            "state": {
                "type": "string",
                "enum": [
                    "draft",
                    "candidate",
                    "go",
                    "no_go",
                    "rolling_out",
                    "released",
                    "halted",
                    "rolled_back",
                    "cancelled",
                ],
            },
            "url": {"type": "string"},
            "outcome": {"type": "string", "enum": ["created", "new_build", "unchanged"]},
            "verdict": {
                "type": "object",
                "required": ["ready", "blockers"],
                "properties": {
                    "ready": {"type": "boolean"},
                    "blockers": {"type": "array", "items": _ref("Blocker")},
                },
            },
            "gates": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "name", "blocking", "status"],
                    "properties": {
                        "key": {"type": "string"},
                        "name": {"type": "string"},
                        "blocking": {"type": "boolean"},
                        "status": {"type": "string", "enum": [*STATUSES, "waived", "none"]},
                        "summary": {"type": "string"},
                        "url": {"type": ["string", "null"]},
                        "observed_at": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
            },
            "decision": {
                "type": "object",
                "required": ["decision", "decided_by", "decided_at"],
                "properties": {
                    "decision": {"type": "string", "enum": ["go", "no_go", "pending"]},
                    "decided_by": {"type": ["string", "null"]},
                    "decided_at": {"type": ["string", "null"], "format": "date-time"},
                    "reason": {"type": ["string", "null"]},
                },
            },
            "rollout": {
                "type": "object",
                "required": [
                    "stages",
                    "halted",
                    "stage_percent",
                    "stage_started_at",
                    "soak_until",
                    "health",
                    "last_sample",
                    "halt",
                    "rollback",
                    "last_health",
                ],
                "properties": {
                    "stage_started_at": {"type": ["string", "null"], "format": "date-time"},
                    "soak_until": {"type": ["string", "null"], "format": "date-time"},
                    "health": {"enum": ["in_bounds", "breach", "inconclusive", None]},
                    "last_sample": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["values", "source", "sampled_at"],
                                "properties": {
                                    "values": {"type": "object"},
                                    "source": {"type": "string"},
                                    "sampled_at": {"type": "string", "format": "date-time"},
                                    "breaches": {"type": "array"},
                                    "problems": {"type": "array"},
                                },
                            },
                        ]
                    },
                    "halt": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["reason", "metric", "value", "bound", "source", "by", "at"],
                                "properties": {
                                    "kind": {"enum": ["breach", "smoke", "person"]},
                                    "reason": {"type": "string"},
                                    "metric": {"type": ["string", "null"]},
                                    "value": {"type": ["number", "null"]},
                                    "bound": {"type": ["number", "null"]},
                                    "source": {"type": ["string", "null"]},
                                    "gate": {"type": ["string", "null"]},
                                    "by": {"type": "string"},
                                    "at": {"type": "string", "format": "date-time"},
                                },
                            },
                        ]
                    },
                    "stages": {"type": "array", "items": {"type": "integer"}},
                    "halted": {"type": "boolean"},
                    "stage_percent": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                    "rollback": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["minutes", "target_minutes", "within_target", "rolled_back_at"],
                                "properties": {
                                    "minutes": {"type": "integer", "minimum": 0},
                                    "target_minutes": {"type": "integer", "minimum": 0},
                                    "within_target": {"type": "boolean"},
                                    "rolled_back_at": {"type": "string", "format": "date-time"},
                                },
                            },
                        ]
                    },
                    "last_health": {"oneOf": [{"type": "null"}, {"type": "object"}]},
                },
            },
        },
    },
    "HealthIn": {
        "type": "object",
        "properties": {
            "error_rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "p95_latency_ms": {"type": ["number", "null"], "minimum": 0},
            "rate_429": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "crash_free_sessions": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "sampled_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "anyOf": [
            {"required": [name], "properties": {name: {"type": "number"}}}
            for name in ("error_rate", "p95_latency_ms", "rate_429", "crash_free_sessions")
        ],
    },
    "HealthOut": {
        "type": "object",
        "required": ["id", "in_bounds", "within_bounds", "breaches", "halted", "state"],
        "properties": {
            "id": {"type": "integer"},
            "in_bounds": {"type": "boolean"},
            "within_bounds": {"type": "boolean", "description": "The same as in_bounds (its earlier name)."},
            "breaches": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "metric": {"type": "string"},
                        "value": {"type": "number"},
                        "bound": {"type": "number"},
                        "minimum": {"type": "boolean"},
                    },
                },
            },
            "halted": {"type": "boolean"},
            "state": {"type": "string"},
        },
    },
    "DefectIn": {
        "type": "object",
        "required": ["title", "severity"],
        "properties": {
            "title": {"type": "string", "pattern": NOT_BLANK, "maxLength": 255},
            "severity": {"type": "string", "enum": ["critical", "major", "minor"]},
            "tracker_url": {
                "anyOf": [
                    {"type": "string", "pattern": CI_LINK_PATTERN, "maxLength": 1000},
                    {"const": ""},
                    {"type": "null"},
                ],
                "description": "Identifies the defect: the same link again updates it instead of adding one.",
            },
            "state": {"anyOf": [{"type": "string", "enum": ["open", "resolved"]}, {"type": "null"}]},
            "resolution": {
                "anyOf": [{"type": "string", "maxLength": 2000}, {"type": "null"}],
                "description": "How it was resolved (with `state: resolved`); required to resolve a critical defect.",
            },
        },
    },
    "PromoteIn": {
        "type": "object",
        "properties": {
            "commit": {
                "anyOf": [{"type": "string", "pattern": COMMIT_PATTERN}, {"type": "null"}],
                "description": "The build's commit, for a draft that has none yet.",
            },
        },
    },
    "DefectOut": {
        "type": "object",
        "required": ["id", "title", "severity", "state", "tracker_url", "outcome"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "severity": {"type": "string", "enum": ["critical", "major", "minor"]},
            "state": {"type": "string", "enum": ["open", "resolved"]},
            "tracker_url": {"type": ["string", "null"]},
            "resolution": {"type": "string"},
            "outcome": {
                "type": "string",
                "enum": ["created", "updated", "unchanged", "resolved", "reopened"],
            },
        },
    },
    "DeliveryOut": {
        "type": "object",
        "required": ["id", "duplicate", "event"],
        "properties": {
            "id": {"type": "integer"},
            "duplicate": {"type": "boolean"},
            "event": {"type": "string"},
        },
    },
}


def _webhook(provider: str, headers: list[dict[str, Any]], summary: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"webhook_{provider}",
            "summary": summary,
            "tags": ["webhooks"],
            "security": [],
            "parameters": [
                {
                    "name": "slug",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "example": "gh" if provider == "github" else "gl",
                },
                *headers,
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {
                "200": _json(_ref("DeliveryOut"), "`ping`, or a redelivery: nothing changes."),
                "202": _json(_ref("DeliveryOut"), "Stored; processed in the background."),
                **_problems(400, 401, 404, 405, 413),
            },
        }
    }


def _github_app_webhook() -> dict[str, Any]:
    """The GitHub App's webhook (docs/github-app.md): no slug, signed with the App's secret."""
    hub = {"name": "X-Hub-Signature-256", "in": "header", "required": True, "schema": {"type": "string"}}
    event = {
        "name": "X-GitHub-Event",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "example": "deployment_protection_rule",
    }
    delivery = {"name": "X-GitHub-Delivery", "in": "header", "required": False, "schema": {"type": "string"}}
    return {
        "post": {
            "operationId": "webhook_github_app",
            "summary": "GitHub App webhook: deployment_protection_rule, installation, installation_repositories, ping",
            "tags": ["webhooks"],
            "security": [],
            "parameters": [hub, event, delivery],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {
                "200": _json(_ref("DeliveryOut"), "`ping`, or a redelivery: nothing changes."),
                "202": _json(_ref("DeliveryOut"), "Stored; processed in the background."),
                **_problems(400, 401, 405, 413),
            },
        }
    }


@cache
def schema() -> dict[str, Any]:
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Go/No-Go API",
            "version": "1",
            "description": "Results from CI, releases, the verdict and rollout health. Errors are "
            "application/problem+json (RFC 9457). Bodies over 1 MiB are refused with 413.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`python manage.py issue_token NAME --product SLUG --scope results,verdict,metrics`",
                }
            },
            "schemas": SCHEMAS,
        },
        "paths": {
            "/api/v1/results": {
                "post": {
                    "operationId": "results_create",
                    "summary": "Report a gate result from any CI",
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ResultIn")}},
                    },
                    "responses": {
                        "202": _json(_ref("ResultOut"), "Recorded."),
                        "200": _json(_ref("ResultOut"), "The same run id and status again: nothing changed."),
                        **_problems(400, 401, 403, 404, 405, 409, 413),
                    },
                }
            },
            "/api/v1/releases": {
                "post": {
                    "operationId": "releases_create",
                    "summary": "Announce a release candidate (or a new build of one)",
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ReleaseIn")}},
                    },
                    "responses": {
                        "201": _json(_ref("Release"), "Created as a candidate."),
                        "200": _json(_ref("Release"), "A new build of the version, or nothing new."),
                        **_problems(400, 401, 403, 404, 405, 409, 413),
                    },
                }
            },
            "/api/v1/releases/{product}/{version}": {
                "get": {
                    "operationId": "release_detail",
                    "summary": "A release: state, verdict, gates, decision, rollout",
                    "security": bearer,
                    "parameters": _path_params(),
                    "responses": {
                        "200": _json(_ref("Release"), "The release."),
                        **_problems(400, 401, 403, 404, 405),
                    },
                }
            },
            "/api/v1/releases/{product}/{version}/verdict": {
                "get": {
                    "operationId": "release_verdict",
                    "summary": "May this release ship? `go` only while a Go decision stands",
                    "security": bearer,
                    "parameters": _path_params(),
                    "responses": {
                        "200": _json(_ref("Verdict"), "The verdict."),
                        **_problems(400, 401, 403, 404, 405),
                    },
                }
            },
            "/api/v1/releases/{product}/{version}/health": {
                "post": {
                    "operationId": "release_health",
                    "summary": "A rollout health sample; out of bounds halts the rollout",
                    "security": bearer,
                    "parameters": _path_params(),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("HealthIn")}},
                    },
                    "responses": {
                        "201": _json(_ref("HealthOut"), "Recorded."),
                        **_problems(400, 401, 403, 404, 405, 413),
                    },
                }
            },
            "/api/v1/releases/{product}/{version}/defects": {
                "post": {
                    "operationId": "release_defects",
                    "summary": "A defect from CI or a tracker; an open critical defect blocks the verdict",
                    "security": bearer,
                    "parameters": _path_params(),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("DefectIn")}},
                    },
                    "responses": {
                        "201": _json(_ref("DefectOut"), "Recorded."),
                        "200": _json(
                            _ref("DefectOut"),
                            "Known by its tracker link: updated (title, severity), unchanged, resolved or reopened.",
                        ),
                        **_problems(400, 401, 403, 404, 405, 413),
                    },
                }
            },
            "/api/v1/releases/{product}/{version}/promote": {
                "post": {
                    "operationId": "release_promote",
                    "summary": "Make a draft a release candidate (its checklists are copied from their templates)",
                    "security": bearer,
                    "parameters": _path_params(),
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": _ref("PromoteIn")}},
                    },
                    "responses": {
                        "200": _json(_ref("Release"), "Now a candidate."),
                        **_problems(400, 401, 403, 404, 405, 409, 413),
                    },
                }
            },
            "/api/v1/webhooks/github/{slug}": _webhook(
                "github",
                [
                    {
                        "name": "X-Hub-Signature-256",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "X-GitHub-Event",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": "check_run",
                    },
                    {
                        "name": "X-GitHub-Delivery",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ],
                "GitHub webhook: check_run, check_suite, workflow_run, workflow_job, status, ping",
            ),
            "/api/v1/webhooks/gitlab/{slug}": _webhook(
                "gitlab",
                [
                    {
                        "name": "X-Gitlab-Token",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "X-Gitlab-Event",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": "Pipeline Hook",
                    },
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "X-Gitlab-Event-UUID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ],
                "GitLab webhook: Pipeline Hook, Job Hook",
            ),
            "/api/v1/webhooks/github-app": _github_app_webhook(),
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1.")},
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "summary": "200 while the process runs",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "Alive.")},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readyz",
                    "summary": "200 when the database and the broker answer; 503 naming the one that failed",
                    "security": [],
                    "responses": {
                        "200": _json({"type": "object"}, "Ready."),
                        "503": _json({"type": "object"}, "Not ready: which check failed."),
                    },
                }
            },
        },
    }
