"""The pure rules behind imports: sniffing a file, suggesting a mapping, converting cells, neutralising formulas."""

from __future__ import annotations

import codecs
from datetime import date, datetime

import pytest

from domain.custom_fields import FieldDefinition
from domain.import_mapping import custom_key_for, header_key, suggest_mapping
from domain.import_values import (
    ConversionRules,
    ConvertedRow,
    RejectedRow,
    RowConverter,
    ValueProblem,
    infer_date_order,
    parse_boolean,
    parse_date,
    parse_email,
    parse_number,
    text_of,
)
from domain.spreadsheet_safety import neutralise
from domain.tabular_sniffing import clean_headers, detect_delimiter, detect_encoding


@pytest.mark.parametrize(
    ("sample", "encoding"),
    [
        (codecs.BOM_UTF8 + "email;prénom\n".encode(), "utf-8-sig"),
        ("email,prénom\n".encode(), "utf-8"),
        ("email\tprénom\n".encode("utf-16"), "utf-16"),
        ("email,name\n".encode("utf-16-le"), "utf-16-le"),
        ("email,société,€\n".encode("cp1252"), "cp1252"),
        (b"email,\x81\x8d\x8f\x90\x9d\n", "latin-1"),  # bytes CP1252 leaves undefined
    ],
)
def test_encodings_are_detected(sample, encoding):
    assert detect_encoding(sample) == encoding


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name;note\n"Doe, Jane";"a, b, c"\n', ";"),  # commas inside quoted cells do not fool it
    ],
)
def test_delimiters_are_detected(text, delimiter):
    assert detect_delimiter(text) == delimiter


def test_headers_are_cleaned():
    assert clean_headers(["\ufeffEmail", "  First   name ", "", "Email", "email"]) == [
        "Email",
        "First name",
        "Column 3",
        "Email (2)",
        "email (3)",
    ]


def test_header_keys_and_custom_keys():
    assert header_key("E-Mail_Address") == "e mail address"
    assert header_key("Prénom") == "prenom"
    assert custom_key_for("Annual revenue (€)") == "annual_revenue"
    assert custom_key_for("2024 budget") == "f_2024_budget"


def test_mapping_suggestions_by_header_then_content():
    headers = ["Courriel", "Contact", "Mobile", "Signed on", "Revenue", "Tier"]
    rows = [["a@b.co", "x@y.io", "+33 6 12 34 56 78", "2024-01-02", "12.5", "gold"]] * 5
    suggestions = suggest_mapping(headers, rows, {"tier": "choice"})
    assert [s["target"] for s in suggestions] == ["email", "ignore", "phone", "ignore", "ignore", "custom.tier"]
    # The second email-looking column cannot take "email" twice; it is offered as a new custom field.
    assert suggestions[1]["new_custom_field"]["type"] == "text"
    assert suggestions[3]["new_custom_field"] == {"key": "signed_on", "label": "Signed on", "type": "date"}
    assert suggestions[4]["new_custom_field"]["type"] == "number"


@pytest.mark.parametrize(
    ("cell", "order", "expected"),
    [
        ("2024-03-05", "dmy", date(2024, 3, 5)),
        ("2024/03/05", "mdy", date(2024, 3, 5)),
        ("05/03/2024", "dmy", date(2024, 3, 5)),
        ("03/05/2024", "mdy", date(2024, 3, 5)),
        ("5.3.24", "dmy", date(2024, 3, 5)),
        ("5 Mar 2024", "mdy", date(2024, 3, 5)),
        ("March 5, 2024", "dmy", date(2024, 3, 5)),
        ("05-Mar-2024", "dmy", date(2024, 3, 5)),
        (datetime(2024, 3, 5, 10, 30), "dmy", date(2024, 3, 5)),
        ("2024-03-05T10:00:00", "dmy", date(2024, 3, 5)),
    ],
)
def test_dates_in_many_formats(cell, order, expected):
    assert parse_date(cell, order) == expected


@pytest.mark.parametrize("cell", ["31/02/2024", "yesterday", "2024-13-01", "12"])
def test_impossible_dates_are_refused(cell):
    with pytest.raises(ValueProblem):
        parse_date(cell, "dmy")


def test_date_order_is_inferred_from_the_first_telling_value():
    assert infer_date_order(["01/02/2024", "25/12/2023"]) == "dmy"
    assert infer_date_order(["01/02/2024", "12/25/2023"]) == "mdy"
    assert infer_date_order(["01/02/2024", "2024-12-25"]) is None


def test_numbers_booleans_emails_and_text():
    assert parse_number("1,234.5") == 1234.5
    assert parse_number("1234,5") == 1234.5
    assert parse_number("1 000") == 1000
    assert parse_number(12.0) == 12
    for bad in ("12abc", "nan", "inf", True):
        with pytest.raises(ValueProblem):
            parse_number(bad)
    assert parse_boolean("Oui") is True and parse_boolean("no") is False and parse_boolean(False) is False
    assert parse_email(" Jane.Doe@Example.COM ") == "Jane.Doe@example.com"
    assert parse_email("ødegaard@bäcker.de") == "ødegaard@bäcker.de"
    for bad in ("plain", "a@b", "a b@c.de", "a@@b.co", "a@-b.co", "x" * 65 + "@b.co"):
        with pytest.raises(ValueProblem):
            parse_email(bad)
    assert text_of(1250.0) == "1250" and text_of(date(2024, 1, 2)) == "2024-01-02" and text_of(None) == ""


def converter(targets, **rules) -> RowConverter:
    definitions = {
        "revenue": FieldDefinition("revenue", "number"),
        "tier": FieldDefinition("tier", "choice", ("gold", "silver")),
        "vip": FieldDefinition("vip", "boolean"),
    }
    return RowConverter(targets, definitions, ConversionRules(default_region="FR", **rules))


def test_a_row_converts_with_inferred_country_and_timezone():
    convert = converter(["email", "phone", "status", "tags", "custom.tier", "custom.vip", "score"])
    row = convert.convert(2, ["a@b.co", "06 12 34 56 78", "Qualified", "vip; fair ,vip", "GOLD", "yes", "7"])
    assert isinstance(row, ConvertedRow)
    assert row.key == "a@b.co"
    assert row.values["phone"] == "+33612345678" and row.values["country"] == "FR"
    assert row.values["inferred_timezone"] == "Europe/Paris"
    assert row.values["status"] == "qualified" and row.values["tags"] == ["fair", "vip"] and row.values["score"] == 7
    assert row.values["custom_fields"] == {"tier": "gold", "vip": True}


def test_a_bad_row_lists_every_reason_and_keeps_its_cells():
    convert = converter(["email", "phone", "score", "custom.revenue", "custom.tier"], max_cell_length=20)
    row = convert.convert(9, ["nope", "123", "1.5", "x" * 21, "bronze"])
    assert isinstance(row, RejectedRow)
    assert [field for field, _ in row.reasons] == ["email", "phone", "score", "custom.revenue", "custom.tier"]
    assert "longer than 20 characters" in row.reason_text
    assert row.cells[0] == "nope" and row.row_number == 9


def test_blank_rows_are_skipped_and_the_key_is_required():
    convert = converter(["email", "first_name"], dedupe_key="email")
    assert convert.convert(3, ["", "  "]) is None
    missing = convert.convert(4, ["", "Ann"])
    assert isinstance(missing, RejectedRow) and missing.reasons[0][0] == "email"


def test_unknown_targets_are_refused_when_the_converter_is_built():
    with pytest.raises(ValueError, match=r"custom\.nope"):
        converter(["custom.nope"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("\x00x", "'\x00x"),
        ("plain", "plain"),
        (-2, -2),
        (None, None),
    ],
)
def test_formula_cells_are_neutralised(value, expected):
    assert neutralise(value) == expected


def test_one_header_vocabulary_for_imports_and_bulk_files():
    from domain.import_mapping import standard_target

    assert [standard_target(h) for h in ["\ufeffE-Mail", "Cell Phone", "MSISDN", "Téléphone", "Notes"]] == [
        "email",
        "phone",
        "phone",
        "phone",
        None,
    ]


def test_trailing_columns_without_header_or_value_are_leftovers():
    from domain.tabular_sniffing import trailing_empty_columns

    assert trailing_empty_columns(["email", "name", "", ""], [["a@b.co", "A", "", ""]]) == 2
    assert trailing_empty_columns(["email", "", ""], [["a@b.co", "", "x"]]) == 0  # a value keeps the column
    assert trailing_empty_columns(["", ""], []) == 2
