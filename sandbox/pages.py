"""Server-rendered pages: the shared ``render`` helper and the index page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
TEMPLATES_DIR = FRONTEND / "templates"
STATIC_DIR = FRONTEND / "static"

router = APIRouter()


def make_templates() -> Jinja2Templates:
    """Jinja2 templates from ``frontend/templates`` (autoescaping on, as for all .html)."""
    return Jinja2Templates(directory=TEMPLATES_DIR)


def render(request: Request, template: str, **context: Any) -> HTMLResponse:
    """Render ``template`` with the app's templates and the given context."""
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, context)
    return response


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index(request: Request) -> HTMLResponse:
    return render(request, "index.html", title="fast-channels sandbox")
