"""The Word files of ``iasem run`` (the report and the printable questionnaires) opened by a second real
consumer: LibreOffice, converting each to PDF headless.

python-docx (test_report.py, test_export_printable.py) reads back what iasem wrote with the library that wrote
it; a file that python-docx accepts can still be one that a word processor refuses or loads empty. LibreOffice
loading and exporting it is the check that readers' software copes. Skipped where LibreOffice is not installed
(it is no dependency of the test suite); one LibreOffice run, with its own profile, converts all files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from iasem import load_instrument
from iasem.report.labels import text

pytestmark = pytest.mark.slow

# Each file with a line its PDF must show: the report's heading of the structural paths, a questionnaire's title.
DOCX = {
    "report/report.docx": text("paths_title", "en"),
    **{
        f"instruments/{spec}/{lang}/{spec}_{lang}.docx": getattr(load_instrument(spec).spec.title, lang)
        for spec in ("relational", "intersectoral")
        for lang in ("en", "nl")
    },
}


@pytest.fixture(scope="module")
def converted(request, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (no soffice on PATH); the DOCX-to-PDF check needs it")
    example_run = request.getfixturevalue("example_run")  # after the skip: no pipeline run for nothing
    work = tmp_path_factory.mktemp("docx_pdf")
    out = work / "pdf"
    # A profile of its own: a LibreOffice already running for the user (or a parallel test run) would
    # otherwise take the conversion over, or block it. The Word filter named outright: left to guess,
    # LibreOffice imports a file it cannot read as a Word document as plain text, and converts that.
    profile = (work / "profile").as_uri()
    done = subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
         "--infilter=MS Word 2007 XML", "--convert-to", "pdf", "--outdir", str(out),
         *(str(example_run.out / name) for name in DOCX)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip
    return out, done


def page_count(pdf: Path) -> int:
    try:
        from pypdf import PdfReader
    except ImportError:
        # LibreOffice writes its page objects uncompressed: count their dictionaries.
        return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf.read_bytes()))
    return len(PdfReader(pdf).pages)


def test_libreoffice_ran_cleanly(converted):
    _, done = converted
    assert done.returncode == 0, done.stderr[-3000:]
    # LibreOffice exits 0 even when it cannot load a file; it says so on its output instead.
    assert "Error" not in done.stdout + done.stderr, done.stdout + done.stderr


@pytest.mark.parametrize("name", DOCX)
def test_docx_converts_to_pdf(converted, name):
    out, _ = converted
    pdf = out / f"{Path(name).stem}.pdf"
    assert pdf.is_file(), f"LibreOffice wrote no PDF for {name}"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 1024
    assert page_count(pdf) >= 1
    pdftotext = shutil.which("pdftotext")
    if pdftotext is not None:  # poppler-utils, where installed: the text made it into the PDF
        shown = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True)
        assert DOCX[name] in " ".join(shown.stdout.split()), (name, DOCX[name])
