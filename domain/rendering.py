"""Per-lead template rendering in a sandboxed jinja2 environment (no I/O, no access to Python internals)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_RENDERED_CHARS = 1_000_000
MAX_LOOP_ITERATIONS = 100_000  # over all `range()` loops of one render
MAX_RENDER_SECONDS = 2.0
MAX_EXPONENT = 100

_iterations: ContextVar[list[int]] = ContextVar("template_iterations")


class _CappedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus caps a send loop needs: `"x" * 10**9`, `9**9**9` and nested `range` loops are
    refused instead of eating the worker's memory or time."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _budgeted_range

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent over {MAX_EXPONENT}")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_RENDERED_CHARS
                ):
                    raise SecurityError(f"repetition longer than {MAX_RENDERED_CHARS}")
        if (
            operator == "+"
            and isinstance(left, Sized)
            and isinstance(right, Sized)
            and len(left) + len(right) > MAX_RENDERED_CHARS
        ):
            raise SecurityError(f"concatenation longer than {MAX_RENDERED_CHARS}")
        return super().call_binop(context, operator, left, right)


def _budgeted_range(*args: int) -> Any:
    numbers = range(*args)
    budget = _iterations.get(None)
    if budget is not None:
        budget[0] += len(numbers)
        if budget[0] > MAX_LOOP_ITERATIONS:
            raise SecurityError(f"loops over more than {MAX_LOOP_ITERATIONS} items")
    return numbers


_html_env = _CappedEnvironment(autoescape=True)
_text_env = _CappedEnvironment(autoescape=False)


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
    """Streams the output so the size and time caps stop a runaway template early."""
    token = _iterations.set([0])
    deadline = time.monotonic() + MAX_RENDER_SECONDS
    pieces: list[str] = []
    size = 0
    try:
        for piece in template.generate(context):
            size += len(piece)
            if size > MAX_RENDERED_CHARS:
                raise TemplateError(part, f"rendered output exceeds {MAX_RENDERED_CHARS} characters")
            if time.monotonic() > deadline:
                raise TemplateError(part, f"rendering took longer than {MAX_RENDER_SECONDS} s")
            pieces.append(piece)
    except TemplateError:
        raise
    except Exception as exc:  # the sandbox raises SecurityError and friends; all mean "this template is broken"
        raise TemplateError(part, str(exc)) from exc
    finally:
        _iterations.reset(token)
    return "".join(pieces)


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
