"""Report writers: JSON, CSV, Excel and HTML, and the run archive with its retention policy."""

from exports._xlsx import MAX_LINKS, Col, Style
from exports.archive import (
    RunInfo,
    apply_retention,
    archive_members,
    check_manifest,
    compress_runs,
    extract_run,
    latest_run,
    link_current,
    list_runs,
    publish,
    read_member,
    start_run_dir,
    write_manifest,
)
from exports.excel import Block, SheetPlan, Written, sheet_plan, summary_rows, write_workbook
from exports.html import write_html
from exports.tabular import FORMULA_LEADS, export_reports, neutralise_sql, write_csv, write_json

__all__ = [
    "FORMULA_LEADS",
    "MAX_LINKS",
    "Block",
    "Col",
    "RunInfo",
    "SheetPlan",
    "Style",
    "Written",
    "apply_retention",
    "archive_members",
    "check_manifest",
    "compress_runs",
    "export_reports",
    "extract_run",
    "latest_run",
    "link_current",
    "list_runs",
    "neutralise_sql",
    "publish",
    "read_member",
    "sheet_plan",
    "start_run_dir",
    "summary_rows",
    "write_csv",
    "write_html",
    "write_json",
    "write_manifest",
    "write_workbook",
]
