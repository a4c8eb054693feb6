"""The template sandbox: escapes to Python internals refused, runaway templates capped, lead data always data.

Whatever a template does, rendering it either succeeds or raises TemplateError: a send loop marks that one delivery
failed and goes on.
"""

from __future__ import annotations

import time

import pytest

import domain.rendering as rendering
from domain.rendering import (
    MAX_PRODUCED_CHARS,
    MAX_RENDERED_CHARS,
    CompiledTemplate,
    MessageContent,
    TemplateError,
    message_context,
    render_string,
)

LEAD = {"first_name": "Ann", "last_name": "Lee", "custom_fields": {"plan": "pro", "items": "three"}}


def context(lead: dict | None = None) -> dict:
    return message_context(
        lead or LEAD, custom_keys=["plan"], workspace={"name": "Acme"}, campaign=None, unsubscribe_url=""
    )


def render(source: str, lead: dict | None = None, *, html: bool = True) -> str:
    return render_string(source, context(lead), html=html)


def refused(source: str) -> TemplateError:
    started = time.monotonic()
    with pytest.raises(TemplateError) as err:
        render(source)
    assert time.monotonic() - started < 5
    return err.value


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ lead.first_name.__class__.__base__ }}",
        "{{ '{0}'.format_map({'0': 1}) }}",
        "{{ '{0.__class__}'.format_map({'0': lead.first_name}) }}",
        "{{ '{0}'.format(1) }}",  # str.format is off: the |format filter is the way
        "{{ lead.first_name.encode() }}",
        "{{ (10).to_bytes(10, 'big') }}",
        "{{ dict.fromkeys([1, 2]) }}",
        "{{ namespace.mro() }}",
        "{{ lead.custom.update({'x': 1}) }}",  # the immutable sandbox refuses mutation
        "{{ lead.tags.append(1) }}",
        "{{ lipsum(10) }}",
        "{{ joiner()() }}",
        "{{ cycler(1, 2).next() }}",
        "{{ config.items() }}",
        "{% include 'other.html' %}",
        "{% extends 'base.html' %}",
        "{% import 'macros.html' as m %}",
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",  # endless recursion
        "{{ lead.first_name|attr('format')('x') }}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_escapes_are_refused_with_a_template_error(source):
    refused(source)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ lead.first_name|attr('format') }}",
        "{{ lead.first_name|attr('__class__') }}",
        "{{ range.__globals__ }}",
        "{{ lead.first_name.upper }}",  # a method object prints nothing rather than its address
        "{{ config }}",
        "{{ self }}",
        "{{ request }}",
        "{{ cycler }}",
        "{{ joiner }}",
        "{{ lipsum }}",
        "{{ environment }}",
        "{{ self.__init__ }}",
        "{{ lead.first_name|attr('__class__')|attr('__mro__')|first }}",
    ],
)
def test_risky_names_and_attributes_render_as_nothing(source):
    assert render(source) == ""


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'x' * 1000000000 }}", "repetition"),
        ("{{ [[0] * 1000] * 1000 }}", "repetition"),  # nested lists count what they print, not their length
        ("{{ 9 ** 999999 }}", "exponent"),
        ("{{ (10 ** 99) ** 99 }}", "bits"),
        ("{% set n = 10 ** 90 %}" + "{% set n = n * n %}" * 4 + "{{ n * n }}", "bits"),
        ("{% for i in range(1000000) %}x{% endfor %}", "loops over more than"),
        ("{% for i in range(10**9) %}{% endfor %}", "loops over more than"),
        ("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "loops over more than"),
        ("{{ 'x'|center(1000000000) }}", "longer than"),
        ("{{ 'x'.ljust(1000000000) }}", "longer than"),
        ("{{ 'ab'|replace('', 'y' * 999999) }}", "longer than"),
        ("{{ ('y' * 999999).replace('y', 'zz') }}", "longer than"),
        ("{{ ['x' * 999999, 'y']|join('z' * 999999) }}", "longer than"),
        ("{{ '%999999999d' % 1 }}", "formatted text"),
        ("{{ '%*d' % (999999999, 1) }}", "widths"),
        ("{{ '%999999999d'|format(1) }}", "formatted text"),
        ("{{ 'a\nb'|indent(999999999) }}", "longer than"),
        ("{{ 'a b c'|wordwrap(1, true, 'x' * 999999) }}", "longer than"),
        ("{{ [1]|batch(1000000000, 0)|list }}", "batch"),
        ("{{ [1]|slice(1000000000)|list }}", "slices"),
        ("{{ [[1], [2]]|sum(start=[]) }}", "sum only adds numbers"),
        ("{{ {'a': 1}|tojson(1000000000) }}", "indent"),
        ("{% set s = 'x' * 999999 %}{{ s ~ s }}", "longer than"),
        ("{% set s = 'x' * 999999 %}{{ [s, s] }}", "longer than"),
        ("{% set s = 'x' * 600000 %}{{ {'a': s, 'b': s} }}", "longer than"),
        # Output thrown away inside macros and set blocks still counts.
        (
            "{% set s = 'x' * 99999 %}{% macro m() %}{% for i in range(100) %}{{ s }}{% endfor %}{% endmacro %}"
            "{% set y = m() %}done",
            "produced more than",
        ),
        ("{% set y %}{% for i in range(90000) %}" + "z" * 100 + "{% endfor %}{% endset %}done", "produced more than"),
    ],
)
def test_runaway_templates_are_capped(source, message):
    assert message in refused(source).message


def test_a_render_past_the_deadline_stops_even_when_nothing_is_printed(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_RENDER_SECONDS", 0.2)
    source = (
        "{% set x = 'a' * 5000 %}{% for a in x %}{% for b in x %}{% for c in x %}{% endfor %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    error = refused(source)
    assert "took longer than 0.2 s" in error.message
    assert time.monotonic() - started < 2


def test_a_slow_filter_chain_is_stopped_by_the_deadline(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_RENDER_SECONDS", 0.2)
    source = "{% set x = 'a' * 3000 %}{% for a in x %}{% for b in x %}{{ b|upper|lower|trim }}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match="longer than"):
        render_string(source, context(), html=False)


def test_output_size_is_capped_while_streaming():
    with pytest.raises(TemplateError, match="exceeds"):
        render("{% for i in range(2000) %}" + "x" * 1000 + "{% endfor %}")
    assert MAX_RENDERED_CHARS >= 1_000_000 and MAX_PRODUCED_CHARS >= MAX_RENDERED_CHARS


def test_lead_data_is_always_data():
    lead = {"first_name": "{{7*7}} <script>alert(1)</script>", "custom_fields": {"plan": "{% for %}"}}
    html = render("<p>{{ lead.first_name }} {{ lead.custom.plan }}</p>", lead)
    assert html == "<p>{{7*7}} &lt;script&gt;alert(1)&lt;/script&gt; {% for %}</p>"
    assert render("{{ lead.first_name }}", lead, html=False) == "{{7*7}} <script>alert(1)</script>"


def test_lead_data_stays_escaped_through_filters_and_fallbacks():
    lead = {"first_name": "<b>x</b>"}
    assert render("{{ lead.first_name|default('there')|upper }}", lead) == "&lt;B&gt;X&lt;/B&gt;"
    assert render("{{ lead.first_name ~ '!' }}", lead) == "&lt;b&gt;x&lt;/b&gt;!"
    assert render("{{ [lead.first_name]|join(', ') }}", lead) == "&lt;b&gt;x&lt;/b&gt;"


def test_every_failure_is_a_template_error_never_another_exception():
    for source in ["{{ 1 / 0 }}", "{{ lead.first_name + 1 }}", "{{ nope.attr }}", "{{ lead.tags[5] + 1 }}"]:
        with pytest.raises(TemplateError):
            render(source)


def test_a_failing_render_names_its_part_and_line():
    template = CompiledTemplate(
        MessageContent(channel="email", subject="ok", body_html="<p>fine</p>\n<p>{{ 1 / 0 }}</p>")
    )
    with pytest.raises(TemplateError) as err:
        template.render(context())
    assert (err.value.part, err.value.line) == ("html", 2)
    assert "html, line 2" in str(err.value)


def test_normal_templates_still_render():
    source = (
        "{{ lead.first_name|default('there') }} {% if lead.custom.plan == 'pro' %}Pro{% endif %} {{ 2 ** 10 }} "
        "{{ lead.first_name.upper() }} {{ lead.custom.items }} {{ '%05.1f'|format(3.14159) }} {{ 'ab' * 3 }}"
    )
    assert render(source, html=False) == "Ann Pro 1024 ANN three 003.1 ababab"
    assert render("{% for i in range(3) %}{{ i }}{{ loop.cycle('a', 'b') }}{% endfor %}") == "0a1b2a"
    assert (
        render("{% set ns = namespace(n=0) %}{% for t in [1, 2] %}{% set ns.n = ns.n + t %}{% endfor %}{{ ns.n }}")
        == "3"
    )
    assert render("{% macro hi(name) %}Hi {{ name }}{% endmacro %}{{ hi(lead.first_name) }}") == "Hi Ann"
    assert render("{{ lead.tags|join(', ') }}|{{ [3, 1, 2]|sort|join }}|{{ 'a,b'.split(',')|length }}") == "|123|2"
    assert render("{{ '%s and %s' % ('a', 'b') }} {{ [1, 2] + [3] }} {{ 'x'.center(5) }}") == "a and b [1, 2, 3]   x  "
