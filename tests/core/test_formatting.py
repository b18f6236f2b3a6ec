"""One formatter for numbers: the same text in tables, reports and experiment summaries."""

import math

from mibench.core.formatting import HTML_STYLE, format_number, format_seconds, format_value


def test_numbers_have_fixed_decimals_and_say_what_is_missing():
    assert format_number(math.pi) == "3.1416" and format_number(math.pi, 2) == "3.14"
    assert format_number(None) == "-" and format_number(math.nan) == "nan"
    assert format_number(math.nan, nan="-") == "-"
    assert format_number(math.inf) == "inf" and format_number(-math.inf) == "-inf"


def test_seconds_and_verdict_values_use_significant_digits():
    assert format_seconds(0.012345) == "0.0123" and format_seconds(math.nan) == "-"
    assert format_value(True) == "True" and format_value(7) == "7"
    assert format_value(123.456) == "123.5" and format_value(1.5e-5) == "1.50e-05"
    assert format_value(-math.inf) == "-inf"


def test_one_style_sheet_serves_both_pages():
    import mibench.experiments.output as output
    import mibench.results.report as report

    assert output.HTML_STYLE is HTML_STYLE and report.HTML_STYLE is HTML_STYLE
    assert "td.no" in HTML_STYLE and "td.num" in HTML_STYLE
