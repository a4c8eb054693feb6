"""Per-lead template rendering in a sandboxed jinja2 environment (no I/O, no access to Python internals).

The sandbox is jinja's `ImmutableSandboxedEnvironment`, hardened for a send loop where one bad template must cost a
failed delivery, never a stuck or crashed worker:

- methods of built-in values are an allow-list (`lead.first_name.upper()` works, `.format_map`, `.encode`,
  `.to_bytes`... do not), on top of the sandbox's ban on `_private` attributes and mutation;
- every value a template builds (repetition, concatenation, `~`, list and dict literals, filter results) is
  measured before it can grow past `MAX_RENDERED_CHARS`, and growth-prone filters and methods (`replace`, `center`,
  `join`, `format`, `indent`, `wordwrap`, `batch`, `slice`, `sum`, `tojson`) are checked before they run;
- everything printed, including macro bodies and `{% set %}` blocks that are later thrown away, counts towards
  `MAX_PRODUCED_CHARS`;
- a deadline is checked on every loop iteration, call, attribute lookup and filter, so even loops that print
  nothing (`{% for a in x %}{% for b in x %}{% endfor %}{% endfor %}`) stop after `MAX_RENDER_SECONDS`;
- `lipsum`, `cycler` and `joiner` are gone, `self` is undefined, there is no loader (`include`/`extends` fail).

Any failure, at compile or render time, is a `TemplateError` naming the part, and the line (and column when known).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, nodes, pass_context
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from domain.email_layout import email_document, html_to_text, rewrite_image_sources

CHANNELS = ("email", "sms", "whatsapp", "social")
MAX_RENDERED_CHARS = 1_000_000  # one part's output, and any single value built while rendering it
MAX_PRODUCED_CHARS = 4 * MAX_RENDERED_CHARS  # all output of one render, including discarded blocks and macros
MAX_LOOP_ITERATIONS = 100_000  # over all `range()` loops of one render
MAX_RENDER_SECONDS = 2.0
MAX_EXPONENT = 100
MAX_INT_BITS = 8192
_TICK_EVERY = 256  # loop iterations between two deadline checks

LEAD_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "company",
    "job_title",
    "status",
    "country",
    "locale",
    "timezone",
    "source",
    "score",
    "tags",
)
WORKSPACE_FIELDS = ("name", "postal_address")
CAMPAIGN_FIELDS = ("id", "name")
CONTEXT_NAMES = ("lead", "workspace", "campaign", "unsubscribe_url")
SANDBOX_GLOBALS = ("range", "dict", "namespace")

# Methods a template may call on built-in values; anything else (format, format_map, encode, translate,
# to_bytes, fromkeys...) is unsafe. Growth-prone ones are wrapped with a size check in `_guard_method`.
STR_METHODS = frozenset(
    {
        "capitalize",
        "casefold",
        "center",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isascii",
        "isdecimal",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "join",
        "ljust",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "replace",
        "rfind",
        "rindex",
        "rjust",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "striptags",
        "swapcase",
        "title",
        "unescape",
        "upper",
        "zfill",
    }
)
SEQUENCE_METHODS = frozenset({"count", "index"})
DICT_METHODS = frozenset({"get", "items", "keys", "values"})


@dataclass
class _Budget:
    deadline: float
    range_items: int = 0
    produced: int = 0


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _tick() -> None:
    budget = _budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise SecurityError(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")


def _weight(value: Any, memo: dict[int, int] | None = None) -> int:
    """Roughly how many characters `value` prints as; stops counting once past the cap."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, bool) or not isinstance(value, int | list | tuple | dict | set | frozenset):
        return 1
    if isinstance(value, int):
        return 1 + value.bit_length() // 3
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    total = len(value)
    for item in chain.from_iterable(value.items()) if isinstance(value, dict) else value:
        total += _weight(item, memo)
        if total > MAX_RENDERED_CHARS:
            break
    memo[id(value)] = total
    return total


def _check_size(size: int, what: str = "value") -> None:
    if size > MAX_RENDERED_CHARS:
        raise SecurityError(f"{what} longer than {MAX_RENDERED_CHARS} characters")


def _check_value(value: Any) -> Any:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        _check_size(_weight(value))
    return value


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_printf(template: str) -> None:
    """`'%999999999d' % 1` allocates a gigabyte: widths and precisions must add up to less than the cap."""
    total = 0
    for width, precision in _PRINTF.findall(template):
        if "*" in (width, precision):
            raise SecurityError("'*' widths are not allowed")
        total += int(width or 0) + int(precision or 0)
    _check_size(total, "formatted text")


def _replaced_length(text: str, old: str, new: str, count: int | None) -> int:
    hits = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def _guard_method(obj: str, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """Size checks for the string methods that can grow their result far beyond their inputs."""
    if name in ("center", "ljust", "rjust", "zfill"):

        def padded(width: Any, *rest: Any) -> Any:
            _check_size(_as_int(width))
            return method(width, *rest)

        return padded
    if name == "replace":

        def replaced(old: Any, new: Any, count: int = -1) -> Any:
            if isinstance(old, str) and isinstance(new, str):
                _check_size(_replaced_length(obj, old, new, count))
            return method(old, new, count)

        return replaced
    if name == "join":

        def joined(iterable: Iterable[Any]) -> Any:
            items = list(iterable)
            _check_size(len(obj) * max(len(items) - 1, 0) + sum(_weight(item) for item in items))
            return method(items)

        return joined
    return method


# Filter guards get the filter's own arguments (value first) and return them, possibly materialised.
def _guard_replace(s: Any, old: Any, new: Any, count: int | None = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    _check_size(_replaced_length(str(s), str(old), str(new), count))
    return (s, old, new, count), {}


def _guard_center(value: Any, width: int = 80) -> tuple[tuple[Any, ...], dict[str, Any]]:
    _check_size(_as_int(width))
    return (value, width), {}


def _guard_indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> tuple[tuple[Any, ...], dict]:
    text = str(s)
    step = len(width) if isinstance(width, str) else _as_int(width)
    _check_size(len(text) + (text.count("\n") + 1) * step)
    return (s, width, first, blank), {}


def _guard_wordwrap(s: Any, width: int = 79, *args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    text = str(s)
    wrapstring = kwargs.get("wrapstring", args[1] if len(args) > 1 else None)
    breaks = len(text) // max(_as_int(width), 1) + text.count("\n") + 1
    _check_size(len(text) + breaks * len(str(wrapstring or "\n")))
    return (s, width, *args), kwargs


def _guard_join(value: Any, d: Any = "", attribute: Any = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    items = value if isinstance(value, str) else list(value)
    _check_size(len(str(d)) * max(len(items) - 1, 0) + sum(_weight(item) for item in items))
    return (items, d, attribute), {}


def _guard_format(value: Any, *args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    _check_printf(str(value))
    return (value, *args), kwargs


def _guard_batch(value: Any, linecount: Any, fill_with: Any = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    _check_size(_as_int(linecount), "batch")
    return (value, linecount, fill_with), {}


def _guard_slice(value: Any, slices: Any, fill_with: Any = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if _as_int(slices) > MAX_LOOP_ITERATIONS:
        raise SecurityError(f"more than {MAX_LOOP_ITERATIONS} slices")
    return (value, slices, fill_with), {}


def _guard_sum(iterable: Any, attribute: Any = None, start: Any = 0) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(start, bool) or not isinstance(start, int | float):
        raise SecurityError("sum only adds numbers")  # summing lists or strings is quadratic
    return (iterable, attribute, start), {}


def _guard_tojson(value: Any, indent: Any = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if indent is not None and (len(indent) if isinstance(indent, str) else _as_int(indent)) > 16:
        raise SecurityError("tojson indent over 16")
    return (value, indent), {}


_FILTER_GUARDS: dict[str, Callable[..., tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "replace": _guard_replace,
    "center": _guard_center,
    "indent": _guard_indent,
    "wordwrap": _guard_wordwrap,
    "join": _guard_join,
    "format": _guard_format,
    "batch": _guard_batch,
    "slice": _guard_slice,
    "sum": _guard_sum,
    "tojson": _guard_tojson,
}


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """`default` that also replaces None and blank strings: lead fields are empty strings, not undefined."""
    if isinstance(value, Undefined) or value is None or (isinstance(value, str) and not value.strip()):
        return default_value
    if boolean and not value:
        return default_value
    return value


def _wrap_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Every filter runs at render time (pass_context stops compile-time folding), under the deadline, guarded."""
    pass_arg = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    guard = _FILTER_GUARDS.get(name)

    @pass_context
    def filtered(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        if guard is not None:
            (value, *args), kwargs = guard(value, *args, **kwargs)
        if pass_arg == "context":
            result = func(context, value, *args, **kwargs)
        elif pass_arg == "eval_context":
            result = func(context.eval_ctx, value, *args, **kwargs)
        elif pass_arg == "environment":
            result = func(context.environment, value, *args, **kwargs)
        else:
            result = func(value, *args, **kwargs)
        return _check_value(result)

    filtered.__name__ = f"filter_{name}"
    return filtered


def _budgeted_range(*args: int) -> range:
    numbers = range(*args)
    budget = _budget.get()
    if budget is not None:
        budget.range_items += len(numbers)
        if budget.range_items > MAX_LOOP_ITERATIONS:
            raise SecurityError(f"loops over more than {MAX_LOOP_ITERATIONS} items")
    return numbers


def _ticking(iterable: Iterable[Any], budget: _Budget) -> Iterator[Any]:
    for n, item in enumerate(iterable):
        if not n % _TICK_EVERY and time.monotonic() > budget.deadline:
            raise SecurityError(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")
        yield item


@pass_context
def _finalize(context: Any, value: Any) -> Any:
    """Counts what every `{{ }}` prints (also inside macros and set blocks); None and callables print nothing."""
    if value is None or (callable(value) and not isinstance(value, Undefined)):
        return ""
    budget = _budget.get()
    if budget is not None:
        budget.produced += len(value) if isinstance(value, str) else _weight(value)
        if budget.produced > MAX_PRODUCED_CHARS:
            raise SecurityError(f"the template produced more than {MAX_PRODUCED_CHARS} characters")
    return value


class _Harden(NodeTransformer):
    """Rewrites the parsed template so loops, concatenations and literals go through the environment's checks."""

    def __init__(self, environment: _CappedEnvironment) -> None:
        self.environment = environment

    def _call(self, hook: str, args: list[nodes.Expr], like: nodes.Node) -> nodes.Call:
        return nodes.Call(
            nodes.EnvironmentAttribute(hook, lineno=like.lineno),
            args,
            [],
            None,
            None,
            lineno=like.lineno,
            environment=self.environment,
        )

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._call("herald_iter", [node.iter], node)
        return node

    def _measured(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        return self._call("herald_size", [node], node)

    visit_Concat = visit_List = visit_Dict = _measured

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        return self._measured(node) if node.ctx == "load" else self.generic_visit(node)

    def visit_Name(self, node: nodes.Name) -> nodes.Node:
        if node.name == "self" and node.ctx == "load":  # the TemplateReference reaches blocks and internals
            return nodes.Name("herald_no_self", "load", lineno=node.lineno)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        static = sum(len(child.data) for child in node.nodes if isinstance(child, nodes.TemplateData))
        if static:
            node.nodes.insert(0, self._call("herald_count", [nodes.Const(static, lineno=node.lineno)], node))
        return node


class _CappedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the caps described in the module docstring."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        for name in ("lipsum", "cycler", "joiner"):
            self.globals.pop(name, None)
        self.globals["range"] = _budgeted_range
        filters = {**FILTERS, "default": _default, "d": _default}
        self.filters = {name: _wrap_filter(name, func) for name, func in filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _Harden(self).visit(self.parse_plain(source, name, filename))

    def parse_plain(self, source: str, name: str | None = None, filename: str | None = None) -> nodes.Template:
        """The template's syntax tree as written (for checks), without the render-time hooks."""
        return super()._parse(source, name, filename)

    # Hooks called from the rewritten templates (see _Harden).
    @staticmethod
    def herald_iter(iterable: Iterable[Any]) -> Iterable[Any]:
        budget = _budget.get()
        return iterable if budget is None else _ticking(iterable, budget)

    @staticmethod
    def herald_size(value: Any) -> Any:
        return _check_value(value)

    @staticmethod
    def herald_count(size: int) -> str:
        budget = _budget.get()
        if budget is not None:
            budget.produced += size
            if budget.produced > MAX_PRODUCED_CHARS:
                raise SecurityError(f"the template produced more than {MAX_PRODUCED_CHARS} characters")
        return ""

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "**" and isinstance(right, int | float):
            if abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent over {MAX_EXPONENT}")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() * right > MAX_INT_BITS:
                raise SecurityError(f"number larger than {MAX_INT_BITS} bits")
        elif operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise SecurityError(f"number larger than {MAX_INT_BITS} bits")
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int):
                    _check_size(_weight(seq) * times, "repetition")
        elif operator == "+":
            if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
                _check_size(_weight(left) + _weight(right), "concatenation")
        elif operator == "%" and isinstance(left, str):
            _check_printf(left)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _tick()
        return super().call(context, obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        if isinstance(obj, dict):  # data first: a custom field called `items` is the field, not the method
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                pass
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        return self._screen(obj, attribute, value)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        try:
            return obj[argument]
        except (TypeError, LookupError):
            pass
        if isinstance(argument, str):
            try:
                value = getattr(obj, argument)
            except AttributeError:
                return self.undefined(obj=obj, name=argument)
            return self._screen(obj, argument, value)
        return self.undefined(obj=obj, name=argument)

    def _screen(self, obj: Any, attribute: str, value: Any) -> Any:
        if not self.is_safe_attribute(obj, attribute, value):
            return self.unsafe_undefined(obj, attribute)
        if type(obj).__module__ == "builtins" and callable(value):
            if isinstance(obj, str):
                allowed = STR_METHODS
            elif isinstance(obj, list | tuple | range):
                allowed = SEQUENCE_METHODS
            elif isinstance(obj, dict):
                allowed = DICT_METHODS
            else:
                allowed = frozenset()
            if attribute not in allowed:
                return self.unsafe_undefined(obj, attribute)
            if isinstance(obj, str):
                return _guard_method(obj, attribute, value)
        return value


_html_env = _CappedEnvironment(autoescape=True)
_text_env = _CappedEnvironment(autoescape=False)


def environment(*, html: bool) -> ImmutableSandboxedEnvironment:
    """The shared sandbox for HTML (autoescaped) or text parts; for checks that need the parser or filter list."""
    return _html_env if html else _text_env


class TemplateError(ValueError):
    """A template that cannot compile or render; names the part (subject, preheader, html, text) at fault."""

    def __init__(self, part: str, message: str, *, line: int | None = None, column: int | None = None) -> None:
        where = part
        if line:
            where += f", line {line}"
            if column:
                where += f", column {column}"
        super().__init__(f"{where}: {message}")
        self.part = part
        self.message = message
        self.line = line
        self.column = column

    def __reduce__(self) -> tuple[Any, ...]:
        return _template_error, (self.part, self.message, self.line, self.column)


def _template_error(part: str, message: str, line: int | None, column: int | None) -> TemplateError:
    return TemplateError(part, message, line=line, column=column)


@dataclass(frozen=True)
class MessageContent:
    """One version of a template's content (see the channel table in the templates contract)."""

    channel: str
    subject: str = ""
    preheader: str = ""
    body_html: str = ""
    body_text: str = ""
    media_ids: tuple[int, ...] = ()
    whatsapp_template: str = ""
    social_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "media_ids", tuple(self.media_ids or ()))
        object.__setattr__(self, "social_networks", tuple(self.social_networks or ()))


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    preheader: str
    html: str  # the complete email document (layout, inlined CSS); "" for other channels or an empty body
    text: str  # the plain-text part (email) or the message (sms, whatsapp, social)
    body_html: str = field(default="", repr=False)  # the rendered body before the layout, for previews


class CompiledTemplate:
    """Compiles a content's parts once (per batch), then renders them for many leads."""

    def __init__(self, content: MessageContent) -> None:
        if content.channel not in CHANNELS:
            raise TemplateError("text", f"unknown channel {content.channel!r}")
        self.content = content
        if content.channel == "email":
            parts = {
                "subject": (_text_env, content.subject),
                "preheader": (_text_env, content.preheader),
                "html": (_html_env, content.body_html),
                "text": (_text_env, content.body_text),
            }
        else:
            parts = {"text": (_text_env, content.body_text)}
        self._parts = {
            part: _compile(env, part, source) for part, (env, source) in parts.items() if source and source.strip()
        }

    def render(self, context: Mapping[str, Any], *, rewrite_url: Callable[[str], str] | None = None) -> RenderedMessage:
        rendered = {part: _render(part, template, context) for part, template in self._parts.items()}
        if self.content.channel != "email":
            return RenderedMessage(subject="", preheader="", html="", text=rendered.get("text", "").strip())
        subject = " ".join(rendered.get("subject", "").split())  # headers must not contain newlines
        preheader = " ".join(rendered.get("preheader", "").split())
        body = rendered.get("html", "")
        try:
            if body.strip() and rewrite_url is not None:
                body = rewrite_image_sources(body, rewrite_url)
            document = email_document(body, subject=subject, preheader=preheader) if body.strip() else ""
            text = rendered.get("text", "")
            if not text.strip():
                text = html_to_text(body)
        except Exception as exc:
            raise TemplateError("html", f"cannot build the email: {exc}") from exc
        return RenderedMessage(subject=subject, preheader=preheader, html=document, text=text, body_html=body)


def render_string(source: str, context: Mapping[str, Any], *, html: bool = False, part: str = "text") -> str:
    """A one-off sandboxed render of a snippet (HTML autoescaped when `html`); raises TemplateError."""
    return _render(part, _compile(environment(html=html), part, source), context)


def _compile(env: ImmutableSandboxedEnvironment, part: str, source: str) -> Any:
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        message = exc.message or str(exc)
        raise TemplateError(part, message, line=exc.lineno, column=syntax_column(source, exc.lineno, message)) from exc
    except Exception as exc:  # e.g. RecursionError on absurdly nested expressions
        raise TemplateError(part, str(exc) or type(exc).__name__) from exc


def _render(part: str, template: Any, context: Mapping[str, Any]) -> str:
    """Streams the output so the size and time caps stop a runaway template early."""
    budget = _Budget(deadline=time.monotonic() + MAX_RENDER_SECONDS)
    token = _budget.set(budget)
    pieces: list[str] = []
    size = 0
    try:
        for piece in template.generate(context):
            size += len(piece)
            if size > MAX_RENDERED_CHARS:
                raise TemplateError(part, f"rendered output exceeds {MAX_RENDERED_CHARS} characters")
            if time.monotonic() > budget.deadline:
                raise TemplateError(part, f"rendering took longer than {MAX_RENDER_SECONDS:g} s")
            pieces.append(piece)
    except TemplateError:
        raise
    except Exception as exc:  # the sandbox raises SecurityError and friends; all mean "this template is broken"
        raise TemplateError(part, str(exc) or type(exc).__name__, line=_template_line(exc)) from exc
    finally:
        _budget.reset(token)
    return "".join(pieces)


def _template_line(exc: BaseException) -> int | None:
    """jinja rewrites tracebacks so template frames carry the template's line numbers."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


_TAG = re.compile(r"\{[{%#].*?(?:[}%#]\}|$)")
_QUOTED = re.compile(r"'([^']+)'")


def tag_spans(line: str) -> list[tuple[int, int]]:
    """Where `{{ }}`, `{% %}` and `{# #}` tags sit on one line (a tag left open runs to the end of the line)."""
    return [match.span() for match in _TAG.finditer(line)]


def locate(source: str, line: int | None, pattern: str | re.Pattern[str]) -> int | None:
    """1-based column of `pattern` on `line`, preferring a match inside a template tag; None when not found."""
    lines = source.split("\n")
    if not line or line > len(lines):
        return None
    text = lines[line - 1]
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    for start, end in tag_spans(text):
        match = regex.search(text, start, end)
        if match:
            return match.start() + 1
    match = regex.search(text)
    return match.start() + 1 if match else None


def syntax_column(source: str, line: int | None, message: str) -> int | None:
    """Best effort: the quoted token of jinja's message on the error's line, else the line's first tag."""
    for token in _QUOTED.findall(message):
        column = locate(source, line, re.escape(token))
        if column:
            return column
    lines = source.split("\n")
    if not line or line > len(lines):
        return None
    spans = tag_spans(lines[line - 1])
    return spans[0][0] + 1 if spans else 1


def _text(value: Any) -> Any:
    return "" if value is None else value


def message_context(
    lead: Mapping[str, Any],
    *,
    custom_keys: Iterable[str],
    workspace: Mapping[str, Any],
    campaign: Mapping[str, Any] | None,
    unsubscribe_url: str,
) -> dict[str, Any]:
    """What a template sees: `lead.*` (with `lead.custom.<key>`), `workspace.*`, `campaign.*`, `unsubscribe_url`.

    Missing values are empty strings, so `default(...)` and `{% if %}` work on them; values are data, never
    template source.
    """
    first = _text(lead.get("first_name"))
    last = _text(lead.get("last_name"))
    stored = dict(lead.get("custom_fields") or lead.get("custom") or {})
    custom = {key: _text(stored.get(key)) for key in custom_keys}
    custom.update({key: _text(value) for key, value in stored.items() if key not in custom})
    values = {name: _text(lead.get(name)) for name in LEAD_FIELDS}
    values.update(
        first_name=first,
        last_name=last,
        full_name=f"{first} {last}".strip(),
        timezone=lead.get("timezone") or "UTC",
        tags=list(lead.get("tags") or []),
        custom=custom,
    )
    campaign = campaign or {}
    return {
        "lead": values,
        "workspace": {name: _text(workspace.get(name)) for name in WORKSPACE_FIELDS},
        "campaign": {name: _text(campaign.get(name)) for name in CAMPAIGN_FIELDS},
        "unsubscribe_url": unsubscribe_url or "",
    }


SAMPLE_LEAD: dict[str, Any] = {
    "first_name": "Alex",
    "last_name": "Sample",
    "email": "alex.sample@example.com",
    "phone": "+15555550123",
    "company": "Example Inc.",
    "job_title": "Marketing Manager",
    "status": "new",
    "country": "US",
    "locale": "en",
    "timezone": "America/New_York",
    "source": "website",
    "score": 42,
    "tags": ["newsletter"],
}


def sample_value(key: str, field_type: str, choices: Iterable[str] = ()) -> Any:
    """An example value of a custom field, for previews and the token menu."""
    if field_type == "number":
        return 42
    if field_type == "date":
        return "2026-01-15"
    if field_type == "boolean":
        return True
    if field_type == "choice":
        return next(iter(choices), "")
    return f"Sample {key.replace('_', ' ')}"


def sample_lead(custom_fields: Iterable[tuple[str, str, list[str]]]) -> dict[str, Any]:
    """A made-up lead for previews without a chosen lead: every standard field and each custom field filled."""
    custom = {key: sample_value(key, field_type, choices or ()) for key, field_type, choices in custom_fields}
    return {**SAMPLE_LEAD, "tags": list(SAMPLE_LEAD["tags"]), "custom_fields": custom}
