"""The HTTP API: ``uvicorn app.main:app``.

Accounts live in SQLite; Valkey holds the cached profiles, the sessions, the
rate-limit counters, the task queue and the notifications. Endpoints that do
blocking Valkey or SQLite calls are plain functions, which FastAPI runs in
its thread pool so they never stall the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import valkey
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, field_validator

from . import notifications, sessions, task_queue, users, valkey_client
from .config import get_settings
from .handlers import HANDLERS
from .notifications import NotificationHub
from .rate_limiter import RateLimitMiddleware

USERNAME = r"^[A-Za-z0-9_.-]{3,32}$"
# deliberately loose: only a confirmation mail could prove an address works
EMAIL = r"^[^@\s]+@[^@\s]+$"
# an idle event stream sends a comment this often so that proxies keep it open
KEEPALIVE_SECONDS = 15.0


class RegisterRequest(BaseModel):
    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=8, max_length=256)
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(pattern=EMAIL, max_length=254)


class LoginRequest(BaseModel):
    username: str = Field(max_length=32)
    password: str = Field(max_length=256)


class ProfileUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, pattern=EMAIL, max_length=254)


class TaskRequest(BaseModel):
    type: str
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: int = Field(
        default=task_queue.PRIORITY_DEFAULT,
        ge=task_queue.PRIORITY_HIGHEST,
        le=task_queue.PRIORITY_LOWEST,
        description="0 runs first, 9 last",
    )

    @field_validator("type")
    @classmethod
    def known_type(cls, value: str) -> str:
        if value not in HANDLERS:
            raise ValueError(f"unknown task type; known types: {', '.join(sorted(HANDLERS))}")
        return value


class NotificationRequest(BaseModel):
    to: str = Field(pattern=USERNAME)
    message: str = Field(min_length=1, max_length=1000)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _session_for(token: str | None) -> sessions.Session:
    if not token:
        raise _unauthorized("Missing bearer token")
    session = sessions.get(token)
    if session is None:
        raise _unauthorized("Invalid or expired session")
    return session


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def current_session(request: Request) -> sessions.Session:
    """The session named by the ``Authorization: Bearer <token>`` header."""
    return _session_for(_bearer_token(request))


def stream_session(request: Request, token: str | None = None) -> sessions.Session:
    """Like current_session, but also accepts ``?token=``: browsers' EventSource
    cannot send headers."""
    return _session_for(_bearer_token(request) or token)


SessionDep = Annotated[sessions.Session, Depends(current_session)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    users.init_db()
    hub = NotificationHub()
    hub.start()
    app.state.hub = hub
    try:
        yield
    finally:
        hub.stop()
        valkey_client.close()


def create_app() -> FastAPI:
    """Build the application; settings come from the environment."""
    app = FastAPI(title="ferrokey demo", lifespan=lifespan)
    app.add_middleware(RateLimitMiddleware)

    @app.get("/health")
    def health() -> JSONResponse:
        """The server's vital signs; 503 when it cannot be reached."""
        client = valkey_client.get_client()
        try:
            info = client.info()
            keys = client.dbsize()
        except valkey.ValkeyError as exc:
            return JSONResponse(
                {"status": "unavailable", "error": str(exc)}, status.HTTP_503_SERVICE_UNAVAILABLE
            )
        fields = (
            "server_name",
            "redis_version",
            "valkey_version",
            "redis_mode",
            "server_mode",
            "uptime_in_seconds",
            "connected_clients",
            "used_memory",
            "used_memory_human",
            "maxmemory_policy",
        )
        server = {f: info[f] for f in fields if f in info}
        server["keys"] = keys
        return JSONResponse({"status": "ok", "server": server})

    @app.post("/users", status_code=status.HTTP_201_CREATED)
    def register(body: RegisterRequest) -> dict[str, Any]:
        try:
            return users.create_user(body.username, body.password, body.name, body.email)
        except users.UserExistsError:
            raise HTTPException(status.HTTP_409_CONFLICT, "Username already taken") from None

    @app.post("/login")
    def login(body: LoginRequest, request: Request) -> dict[str, Any]:
        if not users.verify_password(body.username, body.password):
            raise _unauthorized("Invalid username or password")
        session = sessions.create(body.username, request.headers.get("user-agent", ""))
        return {
            "token": session.token,
            "token_type": "bearer",
            "expires_in": get_settings().session_ttl,
        }

    @app.post("/logout")
    def logout(session: SessionDep) -> dict[str, bool]:
        return {"logged_out": sessions.destroy(session.token)}

    @app.post("/logout-all")
    def logout_all(session: SessionDep) -> dict[str, int]:
        return {"sessions_ended": sessions.destroy_all(session.user_id)}

    @app.get("/sessions")
    def list_sessions(session: SessionDep) -> list[dict[str, Any]]:
        """The user's live sessions; tokens are shortened, as they are secrets."""
        return [
            {
                "token_prefix": s.token[:8],
                "current": s.token == session.token,
                "created_at": s.created_at,
                "last_seen": s.last_seen,
                "user_agent": s.user_agent,
            }
            for s in sessions.list_for_user(session.user_id)
        ]

    @app.get("/profile")
    def get_profile(session: SessionDep) -> dict[str, Any]:
        profile = users.get_profile(session.user_id)
        if profile is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "User no longer exists")
        return profile

    @app.put("/profile")
    def put_profile(body: ProfileUpdate, session: SessionDep) -> dict[str, Any]:
        profile = users.update_profile(session.user_id, body.name, body.email)
        if profile is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "User no longer exists")
        return profile

    @app.post("/tasks", status_code=status.HTTP_202_ACCEPTED)
    def submit_task(body: TaskRequest, session: SessionDep) -> dict[str, Any]:
        return task_queue.enqueue(body.type, body.payload, body.priority, owner=session.user_id)

    @app.get("/tasks/{task_id}")
    def get_task(task_id: str, session: SessionDep) -> dict[str, Any]:
        task = task_queue.get(task_id)
        # other users' tasks are reported as missing, not as forbidden
        if task is None or task["owner"] != session.user_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such task")
        return task

    @app.post("/notifications", status_code=status.HTTP_201_CREATED)
    def send_notification(body: NotificationRequest, session: SessionDep) -> dict[str, Any]:
        if users.get_profile(body.to) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such user")
        return notifications.notify(body.to, "message", body.message, {"from": session.user_id})

    @app.get("/notifications")
    def list_notifications(session: SessionDep) -> list[dict[str, Any]]:
        """The notifications kept for the user, newest first."""
        return notifications.pending(session.user_id)

    @app.delete("/notifications")
    def clear_notifications(session: SessionDep) -> dict[str, int]:
        return {"cleared": notifications.clear(session.user_id)}

    @app.get("/notifications/stream")
    async def notification_stream(
        request: Request, session: Annotated[sessions.Session, Depends(stream_session)]
    ) -> StreamingResponse:
        """Server-sent events: ``ready`` once subscribed, then one
        ``notification`` event per notification as it is sent."""
        hub: NotificationHub = request.app.state.hub
        return StreamingResponse(
            _events(hub, session.user_id),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


async def _events(hub: NotificationHub, user_id: str) -> AsyncIterator[str]:
    async with hub.listen(user_id) as listener:
        while not listener.ready.is_set():
            try:
                await asyncio.wait_for(listener.ready.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": waiting for subscription\n\n"
        yield "retry: 3000\nevent: ready\ndata: {}\n\n"
        while True:
            try:
                item = await asyncio.wait_for(listener.messages.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if item is None:
                return
            yield f"id: {item['id']}\nevent: notification\ndata: {json.dumps(item)}\n\n"


app = create_app()
