"""Report writers: JSON and CSV per the export contract."""

from exports.tabular import FORMULA_LEADS, export_reports, neutralise_sql, write_csv, write_json

__all__ = ["FORMULA_LEADS", "export_reports", "neutralise_sql", "write_csv", "write_json"]
