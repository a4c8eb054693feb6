"""The token menu, and the checks a template passes at save: syntax, unknown or unsafe tokens, channel rules.

Checks work on the template source (the syntax tree as written) and point at line and column, so the editor can
underline the offending text. They are the save-time twin of the render-time sandbox in `domain.rendering`: what
the sandbox would refuse or silently print as nothing is reported here first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from domain.rendering import (
    CHANNELS,
    CONTEXT_NAMES,
    DICT_METHODS,
    MAX_EXPONENT,
    MAX_LOOP_ITERATIONS,
    SAMPLE_LEAD,
    SANDBOX_GLOBALS,
    SEQUENCE_METHODS,
    STR_METHODS,
    MessageContent,
    environment,
    locate,
    sample_value,
    syntax_column,
)
from domain.sms_segments import count_sms
from domain.social_limits import SOCIAL_LIMITS, social_lengths

MAX_SUBJECT = 998
MAX_PREHEADER = 250
MAX_SMS_CHARS = 1600  # what SMS providers accept as one (concatenated) message
MAX_WHATSAPP_CHARS = 4096
MAX_MEDIA = {"whatsapp": 1, "social": 4}
WHATSAPP_TEMPLATE = re.compile(r"^[a-z0-9_]{1,512}$")

LEAD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "email": "Email",
    "phone": "Phone",
    "company": "Company",
    "job_title": "Job title",
    "status": "Status",
    "country": "Country",
    "locale": "Locale",
    "timezone": "Time zone",
    "source": "Source",
    "score": "Score",
    "tags": "Tags",
}
_LOCAL_NAMES = frozenset({"loop", "caller", "varargs", "kwargs", "super", *SANDBOX_GLOBALS})
_ALLOWED_METHODS = STR_METHODS | SEQUENCE_METHODS | DICT_METHODS
_LOOP_METHODS = frozenset({"cycle", "changed"})


@dataclass(frozen=True)
class Token:
    token: str  # what the editor inserts, e.g. "{{ lead.first_name }}"
    label: str
    group: str  # Lead | Custom fields | Workspace | Campaign | Links
    example: str


@dataclass(frozen=True)
class TemplateProblem:
    severity: str  # "error" blocks a save (template checks) or a launch (brand checks); "warning" never does
    rule: str
    message: str
    field: str
    line: int | None = None
    column: int | None = None


def token_catalogue(
    custom_fields: Iterable[tuple[str, str, str]], *, workspace: Mapping[str, Any] | None = None
) -> list[Token]:
    """Every token a template may use: standard lead fields, the workspace's custom fields (key, label, type[,
    choices]), workspace, campaign and the unsubscribe link. Examples come from the sample lead."""
    workspace = workspace or {}
    tokens = []
    for key, label in LEAD_LABELS.items():
        if key == "tags":
            tokens.append(Token('{{ lead.tags | join(", ") }}', label, "Lead", ", ".join(SAMPLE_LEAD["tags"])))
            continue
        example = "Alex Sample" if key == "full_name" else str(SAMPLE_LEAD.get(key, ""))
        tokens.append(Token(f"{{{{ lead.{key} }}}}", label, "Lead", example))
    for key, label, field_type, *rest in custom_fields:
        choices = rest[0] if rest else ()
        example = sample_value(key, field_type, choices or ())
        tokens.append(Token(f"{{{{ lead.custom.{key} }}}}", label or key, "Custom fields", _example(example)))
    tokens += [
        Token("{{ workspace.name }}", "Workspace name", "Workspace", str(workspace.get("name") or "Your company")),
        Token(
            "{{ workspace.postal_address }}",
            "Postal address",
            "Workspace",
            str(workspace.get("postal_address") or "1 Example Street, Springfield"),
        ),
        Token("{{ campaign.name }}", "Campaign name", "Campaign", "November newsletter"),
        Token("{{ campaign.id }}", "Campaign id", "Campaign", "42"),
        Token("{{ unsubscribe_url }}", "Unsubscribe link", "Links", "https://example.com/unsubscribe/..."),
    ]
    return tokens


def _example(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


_TOKEN_PATH = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\s*\.\s*\w+|\s*\[\s*['\"][^'\"]+['\"]\s*\])*)")
_PATH_PART = re.compile(r"\.\s*(\w+)|\[\s*['\"]([^'\"]+)['\"]\s*\]")


def _known_paths(catalogue: Iterable[Token]) -> dict[str, Any]:
    """A tree of the attribute paths the tokens use: {"lead": {"first_name": None, "custom": {"plan": None}}}."""
    tree: dict[str, Any] = {"lead": {"custom": {}}}  # lead.custom exists even with no custom fields
    for token in catalogue:
        match = _TOKEN_PATH.match(token.token)
        if not match:
            continue
        expression = match.group(1)
        root = re.match(r"\w+", expression).group(0)
        parts = [root] + [a or b for a, b in _PATH_PART.findall(expression[len(root) :])]
        node = tree
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            child = node.get(part)
            if last:
                node.setdefault(part, None)
            else:
                if child is None:
                    child = node[part] = {}
                node = child
    return tree


def check_template(content: MessageContent, catalogue: list[Token]) -> list[TemplateProblem]:
    """Everything wrong with a template at save: channel rules, then each jinja part's syntax and tokens."""
    problems = _field_rules(content)
    if content.channel not in CHANNELS:
        return problems
    known = _known_paths(catalogue)
    for field, source, html in _template_fields(content):
        problems += _check_source(field, source, html=html, known=known)
    return problems


def _template_fields(content: MessageContent) -> Iterator[tuple[str, str, bool]]:
    if content.channel == "email":
        yield "subject", content.subject, False
        yield "preheader", content.preheader, False
        yield "body_html", content.body_html, True
    yield "body_text", content.body_text, False


def _field_rules(content: MessageContent) -> list[TemplateProblem]:
    channel = content.channel
    problems: list[TemplateProblem] = []

    def error(rule: str, field: str, message: str) -> None:
        problems.append(TemplateProblem("error", rule, message, field))

    if channel not in CHANNELS:
        error("invalid", "channel", f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
        return problems
    if channel == "email":
        if not content.subject.strip():
            error("required", "subject", "an email needs a subject")
        elif len(content.subject) > MAX_SUBJECT:
            error("too_long", "subject", f"the subject is {len(content.subject)} characters, over {MAX_SUBJECT}")
        if len(content.preheader) > MAX_PREHEADER:
            length = len(content.preheader)
            error("too_long", "preheader", f"the preheader is {length} characters, over {MAX_PREHEADER}")
        if not content.body_html.strip():
            error("required", "body_html", "an email needs a body")
    elif not content.body_text.strip():
        error("required", "body_text", f"a {_channel_name(channel)} needs a text")
    if channel == "sms" and len(content.body_text) > MAX_SMS_CHARS:
        count = count_sms(content.body_text)
        error(
            "too_long",
            "body_text",
            f"the SMS is {count.characters} characters ({count.segments} segments), over {MAX_SMS_CHARS}",
        )
    if channel == "whatsapp":
        if len(content.body_text) > MAX_WHATSAPP_CHARS:
            error("too_long", "body_text", f"a WhatsApp message holds at most {MAX_WHATSAPP_CHARS} characters")
        if content.whatsapp_template and not WHATSAPP_TEMPLATE.match(content.whatsapp_template):
            error(
                "invalid",
                "whatsapp_template",
                "an approved template name has 1 to 512 lower-case letters, digits or underscores",
            )
    elif content.whatsapp_template:
        error("not_allowed", "whatsapp_template", "only WhatsApp templates have an approved template name")
    if channel == "social":
        unknown = [n for n in content.social_networks if n not in SOCIAL_LIMITS]
        if not content.social_networks:
            error("required", "social_networks", "choose at least one network")
        elif unknown:
            error("invalid", "social_networks", f"unknown network {unknown[0]!r}; expected x, linkedin or facebook")
        for row in social_lengths(content.body_text, content.social_networks):
            if row["over"]:
                error(
                    "too_long",
                    "body_text",
                    f"the post is {row['length']} characters, over {_NETWORK_NAMES[row['network']]}'s {row['limit']}",
                )
    elif content.social_networks:
        error("not_allowed", "social_networks", "only social posts go to networks")
    if channel in MAX_MEDIA:
        if len(content.media_ids) > MAX_MEDIA[channel]:
            error("too_many", "media_ids", f"a {_channel_name(channel)} carries at most {MAX_MEDIA[channel]} media")
    elif content.media_ids:
        error("not_allowed", "media_ids", f"a {_channel_name(channel)} has no attached media")
    return problems


_NETWORK_NAMES = {"x": "X", "linkedin": "LinkedIn", "facebook": "Facebook"}


def _channel_name(channel: str) -> str:
    return {"sms": "SMS", "whatsapp": "WhatsApp message", "social": "social post", "email": "email"}[channel]


class _Checker:
    def __init__(self, field: str, source: str, html: bool, known: dict[str, Any]) -> None:
        self.field, self.source, self.html, self.known = field, source, html, known
        self.env = environment(html=html)
        self.problems: list[TemplateProblem] = []
        self._seen: set[tuple[str, int | None, int | None]] = set()

    def report(self, severity: str, rule: str, message: str, line: int | None, pattern: str | None) -> None:
        column = locate(self.source, line, pattern) if pattern else None
        key = (message, line, column)
        if key not in self._seen:
            self._seen.add(key)
            self.problems.append(TemplateProblem(severity, rule, message, self.field, line, column))

    def run(self) -> list[TemplateProblem]:
        try:
            tree = self.env.parse_plain(self.source)
        except TemplateSyntaxError as exc:
            self.problems.append(self._syntax(exc))
            return self.problems
        except Exception as exc:  # RecursionError on absurd nesting, and the like
            self.problems.append(TemplateProblem("error", "syntax", str(exc) or type(exc).__name__, self.field))
            return self.problems
        local = self._local_names(tree)
        for node in tree.find_all(nodes.Node):
            self._check_node(node, local)
        try:
            self.env.from_string(self.source)
        except TemplateSyntaxError as exc:
            if not exc.message or not exc.message.startswith(("No filter named", "No test named")):
                self.problems.append(self._syntax(exc))
        except Exception as exc:
            self.problems.append(TemplateProblem("error", "syntax", str(exc) or type(exc).__name__, self.field))
        return sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0))

    def _syntax(self, exc: TemplateSyntaxError) -> TemplateProblem:
        message = exc.message or str(exc)
        column = syntax_column(self.source, exc.lineno, message)
        return TemplateProblem("error", "syntax", message, self.field, exc.lineno, column)

    @staticmethod
    def _local_names(tree: nodes.Template) -> set[str]:
        names = set(_LOCAL_NAMES)
        for node in tree.find_all((nodes.Name, nodes.Macro, nodes.NSRef)):
            if isinstance(node, nodes.Macro):
                names.add(node.name)
            elif isinstance(node, nodes.NSRef):
                names.add(node.name)
            elif node.ctx in ("store", "param"):
                names.add(node.name)
        return names

    def _check_node(self, node: nodes.Node, local: set[str]) -> None:
        line = node.lineno
        if isinstance(node, nodes.Name) and node.ctx == "load":
            if node.name == "self":
                self.report("error", "unsafe", "'self' is not available in templates", line, _name_pattern("self"))
            elif node.name not in local and node.name not in CONTEXT_NAMES:
                self.report("error", "unknown_token", f"unknown token {node.name!r}", line, _name_pattern(node.name))
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            self._check_access(node, local)
        elif isinstance(node, nodes.Call):
            self._check_call(node)
        elif isinstance(node, nodes.Filter):
            if node.name not in self.env.filters:
                pattern = rf"\|\s*{re.escape(node.name)}\b"
                self.report("error", "syntax", f"no filter named {node.name!r}", line, pattern)
            elif node.name == "attr":
                self.report("error", "unsafe", "the attr filter is not allowed", line, r"\|\s*attr\b")
            elif node.name == "safe" and self.html:
                message = "|safe prints the value as raw HTML: lead data could inject markup"
                self.report("warning", "unsafe", message, line, r"\|\s*safe\b")
        elif isinstance(node, nodes.Test) and node.name not in self.env.tests:
            self.report(
                "error", "syntax", f"no test named {node.name!r}", line, rf"\bis\s+(?:not\s+)?{re.escape(node.name)}\b"
            )
        elif isinstance(node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport):
            tag = {nodes.Extends: "extends", nodes.Include: "include"}.get(type(node), "import|from")
            message = "templates cannot extend, include or import other templates (insert a content block instead)"
            self.report("error", "unsupported", message, line, rf"\{{%-?\s*(?:{tag})\b")
        elif isinstance(node, nodes.ScopedEvalContextModifier | nodes.EvalContextModifier) and self.html:
            if any(keyword.key == "autoescape" for keyword in node.options):
                message = "turning autoescape off prints lead data as raw HTML"
                self.report("warning", "unsafe", message, line, r"\bautoescape\b")

    def _check_access(self, node: nodes.Getattr | nodes.Getitem, local: set[str]) -> None:
        attr = _attribute(node)
        if attr is None:
            return
        if attr.startswith("_"):
            self.report("error", "unsafe", f"attribute {attr!r} is not allowed", node.lineno, _attr_pattern(attr))
            return
        path = _path(node)
        if path is None or path[0] in local or path[0] not in CONTEXT_NAMES:
            return
        tree: Any = self.known.get(path[0])
        for depth, part in enumerate(path[1:], start=1):
            if not isinstance(tree, dict):
                return  # past a known value: its methods are checked where they are called
            if part not in tree and not (part in DICT_METHODS and depth == len(path) - 1):
                dotted = ".".join(path[: depth + 1])
                steps = [rf"(?:\.\s*{re.escape(p)}\b|\[\s*['\"]{re.escape(p)}['\"])" for p in path[1 : depth + 1]]
                pattern = r"\s*".join([_name_pattern(path[0]), *steps])
                self.report("error", "unknown_token", f"unknown token {dotted!r}", node.lineno, pattern)
                return
            tree = tree.get(part)

    def _check_call(self, node: nodes.Call) -> None:
        func = node.node
        if isinstance(func, nodes.Getattr):
            root = _path(func)
            if root and root[0] == "loop" and func.attr in _LOOP_METHODS:
                return
            if not func.attr.startswith("_") and func.attr not in _ALLOWED_METHODS:
                message = f"method {func.attr!r} is not allowed"
                self.report("error", "unsafe", message, node.lineno, _attr_pattern(func.attr))
        elif isinstance(func, nodes.Name) and func.name == "range":
            size = _range_size(node.args)
            if size is not None and size > MAX_LOOP_ITERATIONS:
                message = f"range() over {size} items; loops may cover at most {MAX_LOOP_ITERATIONS}"
                self.report("error", "unsafe", message, node.lineno, r"\brange\s*\(")


def _check_source(field: str, source: str, *, html: bool, known: dict[str, Any]) -> list[TemplateProblem]:
    if not source or not source.strip():
        return []
    return _Checker(field, source, html, known).run()


def _attribute(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _path(node: nodes.Node) -> list[str] | None:
    """`lead.custom.plan` (or `lead["custom"]["plan"]`) as ["lead", "custom", "plan"]; None when not a plain path."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        attr = _attribute(node)
        if attr is None:
            return None
        parts.append(attr)
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return [node.name, *reversed(parts)]


def _name_pattern(name: str) -> str:
    return rf"(?<![\w.]){re.escape(name)}\b"


def _attr_pattern(attr: str) -> str:
    return rf"\.\s*{re.escape(attr)}\b|\[\s*['\"]{re.escape(attr)}['\"]|['\"]{re.escape(attr)}['\"]"


def _range_size(args: list[nodes.Expr]) -> int | None:
    values = [_constant_int(arg) for arg in args]
    if not values or any(value is None for value in values):
        return None
    try:
        return len(range(*values))
    except (TypeError, ValueError, OverflowError):
        return None


def _constant_int(node: nodes.Expr) -> int | None:
    """Small integer arithmetic on literals (`10**9`, `1000 * 1000`), refusing anything that could be huge."""
    if isinstance(node, nodes.Const) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, nodes.Neg):
        value = _constant_int(node.node)
        return None if value is None else -value
    if isinstance(node, nodes.Pow | nodes.Mul | nodes.Add | nodes.Sub):
        left, right = _constant_int(node.left), _constant_int(node.right)
        if left is None or right is None:
            return None
        if isinstance(node, nodes.Pow):
            return left**right if 0 <= right <= MAX_EXPONENT and abs(left) < 2**32 else None
        if isinstance(node, nodes.Mul):
            return left * right if abs(left) < 2**64 and abs(right) < 2**64 else None
        return left + right if isinstance(node, nodes.Add) else left - right
    return None
