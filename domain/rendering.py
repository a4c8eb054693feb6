"""Per-lead template rendering in a sandboxed jinja2 environment (no I/O, no access to Python internals)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RENDERED_CHARS = 1_000_000

_html_env = ImmutableSandboxedEnvironment(autoescape=True)
_text_env = ImmutableSandboxedEnvironment(autoescape=False)


class TemplateError(ValueError):
    """A template that cannot compile or render; names the part (subject, html, text) at fault."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(f"{part}: {message}")
        self.part = part


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    html: str
    text: str


class CompiledTemplate:
    """Compiles the three parts once, then renders them for many leads."""

    def __init__(self, subject: str, body_html: str, body_text: str) -> None:
        self._parts = {
            "subject": _compile(_text_env, "subject", subject),
            "html": _compile(_html_env, "html", body_html),
            "text": _compile(_text_env, "text", body_text),
        }

    def render(self, context: Mapping[str, Any]) -> RenderedMessage:
        rendered = {part: _render(part, template, context) for part, template in self._parts.items()}
        subject = " ".join(rendered["subject"].split())  # headers must not contain newlines
        return RenderedMessage(subject=subject, html=rendered["html"], text=rendered["text"])


def _compile(env: ImmutableSandboxedEnvironment, part: str, source: str):
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(part, f"line {exc.lineno}: {exc.message}") from exc


def _render(part: str, template, context: Mapping[str, Any]) -> str:
    try:
        output = template.render(context)
    except Exception as exc:  # the sandbox raises SecurityError and friends; all mean "this template is broken"
        raise TemplateError(part, str(exc)) from exc
    if len(output) > MAX_RENDERED_CHARS:
        raise TemplateError(part, f"rendered output exceeds {MAX_RENDERED_CHARS} characters")
    return output


def lead_context(lead: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a template sees for one lead: `{{ first_name }}`, `{{ company }}`, `{{ custom.<key> }}`..."""
    first = lead.get("first_name") or ""
    last = lead.get("last_name") or ""
    return {
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}".strip(),
        "email": lead.get("email") or "",
        "phone": lead.get("phone") or "",
        "status": lead.get("status") or "",
        "timezone": lead.get("timezone") or "UTC",
        "company": lead.get("company") or "",
        "custom": dict(lead.get("custom_fields") or {}),
    }
