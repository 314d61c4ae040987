"""The design system's charts are served from static/vendor/dsfr-chart/, built from the
npm package by scripts/build_dsfr_chart.py so that they run under the site's CSP."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_dsfr_chart.py"
PACKAGE = ROOT / "node_modules" / "@gouvfr" / "dsfr-chart" / "dist" / "DSFRChart"
BUILT = ROOT / "static" / "vendor" / "dsfr-chart"


def _script():
    spec = importlib.util.spec_from_file_location("build_dsfr_chart", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not PACKAGE.exists(), reason="npm packages not installed (make node)")
def test_the_committed_build_is_the_scripts_output():
    source = (PACKAGE / "DSFRChart.js").read_text(encoding="utf-8")

    built = _script().build_module(source)

    assert (BUILT / "DSFRChart.js").read_text(encoding="utf-8") == built
    assert (BUILT / "DSFRChart.css").read_bytes() == (PACKAGE / "DSFRChart.css").read_bytes()


def test_the_build_runs_vue_in_production_mode_without_inline_styles():
    module = (BUILT / "DSFRChart.js").read_text(encoding="utf-8")

    assert 'NODE_ENV: "production"' in module
    assert 'style="' not in module
    assert "new Function" not in module and "eval(" not in module


def test_the_script_refuses_a_package_it_does_not_recognise():
    with pytest.raises(SystemExit, match="process.env"):
        _script().build_module("console.log('another library');")
