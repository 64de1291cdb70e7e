"""The iasem command line: useful help, clear errors, and no overwriting without --force."""

from __future__ import annotations

import pytest

from iasem.cli import main

from .conftest import construct_yaml


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "instrument" in out and "examples" in out


@pytest.mark.parametrize("action", ["list", "check", "build", "init"])
def test_each_action_has_help(capsys, action):
    with pytest.raises(SystemExit):
        main(["instrument", action, "--help"])
    assert "usage: iasem instrument " + action in capsys.readouterr().out


def test_build_help_lists_formats(capsys):
    with pytest.raises(SystemExit):
        main(["instrument", "build", "--help"])
    out = capsys.readouterr().out
    for fmt in ("xlsform", "surveyjs", "limesurvey", "qualtrics", "redcap", "html", "docx", "pdf", "codebook"):
        assert fmt in out


def test_list(capsys):
    code, out, _ = run(capsys, "instrument", "list")
    assert code == 0
    assert "relational" in out and "intersectoral" in out and "full" in out and "trust" in out


def test_check_prints_the_measurement_model(capsys):
    code, out, _ = run(capsys, "instrument", "check", "relational")
    assert code == 0
    assert "trust =~ trust1" in out and "OK" in out


def test_check_reports_file_and_line(capsys, custom_spec, tmp_path):
    spec = custom_spec(
        "constructs: [mine]\nbank: [my_bank.yaml]\n", construct_yaml().replace("code: mine3", "code: Mine3")
    )
    code, _, err = run(capsys, "instrument", "check", str(spec))
    assert code == 1
    assert f"{tmp_path / 'my_bank.yaml'}:16: invalid item code 'Mine3'" in err
    assert "Traceback" not in err


def test_build_writes_and_refuses_to_overwrite(capsys, tmp_path):
    out_dir = tmp_path / "out"
    code, out, _ = run(
        capsys, "instrument", "build", "relational", "--format", "codebook", "--lang", "en", "--out", str(out_dir)
    )
    assert code == 0
    book = out_dir / "relational_codebook.csv"
    assert book.is_file() and str(book) in out
    before = book.read_bytes()
    book.write_text("edited by hand")
    code, _, err = run(capsys, "instrument", "build", "relational", "--format", "codebook", "--out", str(out_dir))
    assert code == 1 and "exists; pass --force" in err
    assert book.read_text() == "edited by hand"
    code, _, _ = run(
        capsys, "instrument", "build", "relational", "--format", "codebook", "--out", str(out_dir), "--force"
    )
    assert code == 0 and book.read_bytes() == before
    assert not list(out_dir.glob(".*.tmp")), "temporary files left behind"


def test_build_rejects_unknown_format(capsys, tmp_path):
    code, _, err = run(capsys, "instrument", "build", "relational", "--format", "spss", "--out", str(tmp_path))
    assert code == 1 and "unknown format spss" in err
    assert not any(tmp_path.iterdir())


def test_build_rejects_language_the_spec_does_not_offer(capsys, custom_spec, tmp_path):
    spec = custom_spec("constructs: [trust]\nlanguages: [nl]\n")
    code, _, err = run(
        capsys, "instrument", "build", str(spec), "--format", "codebook", "--lang", "en", "--out", str(tmp_path / "o")
    )
    assert code == 1 and "not offered in 'en'" in err


def test_init_copies_an_editable_bank_that_builds(capsys, tmp_path):
    target = tmp_path / "mine"
    code, _, _ = run(capsys, "instrument", "init", str(target), "--from", "relational")
    assert code == 0
    spec = target / "relational.yaml"
    bank_file = target / "survey_instruments" / "bank" / "thesis.yaml"
    # The designer adds an item to trust: it must appear in the measurement model.
    text = bank_file.read_text(encoding="utf-8")
    addition = """      - code: trust9
        aspect: a1
        reverse: false
        text:
          nl: "Onze partners zijn open over hun eigen belangen."
          en: "Our partners are open about their own interests."
"""
    marker = "  - id: success"
    bank_file.write_text(text.replace(marker, addition + marker, 1), encoding="utf-8")
    code, out, _ = run(capsys, "instrument", "check", str(spec))
    assert code == 0, out
    assert "+ trust9" in out
    code, _, err = run(capsys, "instrument", "init", str(target))
    assert code == 1 and "not empty" in err


@pytest.mark.parametrize("spec_id", ["relational", "intersectoral", "full"])
def test_build_all_formats(capsys, tmp_path, spec_id):
    code, _, err = run(
        capsys, "instrument", "build", spec_id, "--format", "all", "--lang", "en", "--out", str(tmp_path)
    )
    assert code == 0, err
    expected = {
        f"{spec_id}_{suffix}"
        for suffix in ("xlsform.xlsx", "surveyjs.json", "limesurvey.txt", "qualtrics.txt", "redcap.csv", "en.html",
                       "en.docx", "en.pdf", "codebook.csv", "codebook.schema.json")
    }  # fmt: skip
    assert {p.name for p in tmp_path.iterdir()} == expected
    assert all((tmp_path / name).stat().st_size > 200 for name in expected)
