"""The template sandbox: escapes to Python internals refused, runaway templates capped, lead data always data."""

from __future__ import annotations

import time

import pytest

from domain.rendering import MAX_RENDERED_CHARS, CompiledTemplate, TemplateError, lead_context


def render(html: str, lead: dict | None = None) -> str:
    return CompiledTemplate("Hi", html, "text").render(lead_context(lead or {"first_name": "Ann"})).html


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ '{0.__class__}'.format_map({'0': first_name}) }}",
        "{{ custom.update({'x': 1}) }}",  # the immutable sandbox refuses mutation
        "{{ 'x' * 1000000000 }}",
        "{{ 9 ** 999999 }}",
        "{% for i in range(1000000) %}x{% endfor %}",
        "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
    ],
)
def test_escapes_and_runaways_are_refused(source):
    started = time.monotonic()
    with pytest.raises(TemplateError):
        render(source)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "source",
    ["{{ first_name|attr('__class__') }}", "{{ 'a{0.__class__}'.format(first_name) }}", "{{ lipsum.__globals__ }}"],
)
def test_unsafe_attributes_render_inert(source):
    assert "class" not in render(source) and "module" not in render(source)


def test_globals_are_not_there():
    assert render("[{{ config }}][{{ self.__init__ }}][{{ request }}]") == "[][][]"


def test_output_size_is_capped_while_streaming():
    with pytest.raises(TemplateError, match="exceeds"):
        render("{% for i in range(2000) %}" + "x" * 1000 + "{% endfor %}")
    assert MAX_RENDERED_CHARS >= 1_000_000


def test_lead_data_is_always_data():
    html = render("<p>{{ first_name }}</p>", {"first_name": "{{7*7}} <script>alert(1)</script>"})
    assert html == "<p>{{7*7}} &lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_normal_templates_still_render():
    lead = {"first_name": "Zoë", "custom_fields": {"plan": "pro"}}
    source = "{{ first_name|default('there') }} {% if custom.plan == 'pro' %}Pro{% endif %} {{ 2 ** 10 }}"
    assert render(source, lead) == "Zoë Pro 1024"
    assert render("{% for i in range(3) %}{{ i }}{% endfor %}") == "012"
