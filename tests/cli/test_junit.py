"""`gonogo report --junit`: counting JUnit XML reports, and refusing unsafe or broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from gonogo_cli.junit import SUMMARY_MAX
from gonogo_cli.main import main
from tests.cli.fake_api import ACCEPTED, REPORT, RESULTS, FakeApi


def write(tmp_path: Path, name: str, xml: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(xml.encode() if isinstance(xml, str) else xml)
    return str(path)


PYTEST_FAILED = """<?xml version="1.0" encoding="utf-8"?>
<testsuites>
  <testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="1.2">
    <testcase classname="tests.test_pact" name="test_order_contract" time="0.1"/>
    <testcase classname="tests.test_pact" name="test_refund_contract" time="0.1">
      <failure message="assert 400 == 200">AssertionError</failure>
    </testcase>
    <testcase classname="tests.test_pact" name="test_user_contract" time="0.1">
      <error message="fixture failed">ConnectionError</error>
    </testcase>
    <testcase classname="tests.test_pact" name="test_legacy" time="0.0">
      <skipped type="pytest.skip" message="legacy">skipped</skipped>
    </testcase>
    <testcase classname="tests.test_pact" name="test_health" time="0.1"/>
  </testsuite>
</testsuites>
"""


def test_junit_with_a_failure_and_an_error_reports_failed(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    report_file = write(tmp_path, "junit.xml", PYTEST_FAILED)
    assert main([*REPORT, "--junit", report_file, "--run-id", "ci-3"]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert sent.json() == {
        "product": "ios-app",
        "version": "2.4.0",
        "gate": "contract",
        "status": "failed",
        "run_id": "ci-3",
        "summary": "2 passed, 1 failed, 1 errors, 1 skipped; "
        "failing: tests.test_pact.test_refund_contract, tests.test_pact.test_user_contract",
    }
    assert "→ failed" in capsys.readouterr().out


def test_junit_errors_alone_fail(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    xml = """<testsuite name="detox" tests="2">
      <testcase name="logs in"/><testcase name="pays"><error message="app crashed"/></testcase>
    </testsuite>"""
    assert main([*REPORT, "--junit", write(tmp_path, "detox.xml", xml)]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert body["status"] == "failed"
    assert body["summary"] == "1 passed, 0 failed, 1 errors, 0 skipped; failing: pays"


def test_junit_single_testsuite_root_all_passed(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    xml = """<?xml version="1.0"?>
    <testsuite name="appium" tests="3">
      <testcase classname="Checkout" name="card"/>
      <testcase classname="Checkout" name="apple pay"/>
      <testcase classname="Login" name="sso"><system-out>ok</system-out></testcase>
    </testsuite>"""
    assert main([*REPORT, "--junit", write(tmp_path, "appium.xml", xml)]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert (body["status"], body["summary"]) == ("passed", "3 passed, 0 failed, 0 errors, 0 skipped")


def test_junit_all_skipped_or_empty_is_skipped(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    skipped = """<testsuites><testsuite name="s">
      <testcase name="a"><skipped/></testcase><testcase name="b"><skipped/></testcase>
    </testsuite></testsuites>"""
    assert main([*REPORT, "--junit", write(tmp_path, "skipped.xml", skipped)]) == 0
    assert main([*REPORT, "--junit", write(tmp_path, "empty.xml", "<testsuites/>")]) == 0
    first, second = (seen.json() for seen in api.requests("POST", RESULTS))
    assert isinstance(first, dict) and isinstance(second, dict)
    assert (first["status"], first["summary"]) == ("skipped", "0 passed, 0 failed, 0 errors, 2 skipped")
    assert (second["status"], second["summary"]) == ("skipped", "0 passed, 0 failed, 0 errors, 0 skipped")


def test_junit_without_testcases_uses_the_suite_counters(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    xml = """<testsuites>
      <testsuite name="unit" tests="10" failures="0" errors="0" skipped="2"/>
      <testsuite name="ui" tests="4" failures="1" errors="0" skipped="0"/>
      <testsuite name="broken" tests="inf" failures="n/a"/>
    </testsuites>"""
    assert main([*REPORT, "--junit", write(tmp_path, "counters.xml", xml)]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert (body["status"], body["summary"]) == ("failed", "11 passed, 1 failed, 0 errors, 2 skipped")


def test_junit_namespaced_and_nested_suites(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    xml = """<testsuites xmlns="urn:example"><testsuite name="outer">
      <testsuite name="inner"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>
    </testsuite></testsuites>"""
    assert main([*REPORT, "--junit", write(tmp_path, "nested.xml", xml)]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert body["summary"] == "1 passed, 1 failed, 0 errors, 0 skipped; failing: b"


def test_junit_many_failures_keep_the_summary_short(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    cases = "".join(
        f'<testcase classname="suite.Login" name="test_case_{n:03}"><failure/></testcase>' for n in range(60)
    )
    assert main([*REPORT, "--junit", write(tmp_path, "many.xml", f"<testsuite>{cases}</testsuite>")]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict) and isinstance(summary := body["summary"], str)
    assert len(summary) <= SUMMARY_MAX
    assert summary.startswith(
        "0 passed, 60 failed, 0 errors, 0 skipped; failing: suite.Login.test_case_000, "
    )
    assert summary.endswith("more")


def test_explicit_summary_overrides_the_junit_one(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    report_file = write(tmp_path, "junit.xml", PYTEST_FAILED)
    assert main([*REPORT, "--junit", report_file, "--summary", "see the report"]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert (body["status"], body["summary"]) == ("failed", "see the report")


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuite><testcase name="&lol2;"/></testsuite>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuite><testcase name="&secret;"/></testsuite>"""


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (BOMB, "refused: the file contains a DOCTYPE declaration"),
        (EXTERNAL, "refused: the file contains a DOCTYPE declaration"),
        (BOMB.replace('"1.0"?>', '"1.0" encoding="utf-16"?>').encode("utf-16"), "DOCTYPE declaration"),
        ("<testsuite><testcase name='a'></testsuite>", "is not well-formed XML: mismatched tag (line 1"),
        ("", "is not well-formed XML: no element found"),
        ("<html><body>502 Bad Gateway</body></html>", "is not a JUnit report: its root is <html>"),
    ],
)
def test_junit_refused_before_anything_is_sent(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str], xml: str | bytes, message: str
) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    assert main([*REPORT, "--junit", write(tmp_path, "bad.xml", xml)]) == 2
    assert message in capsys.readouterr().err
    assert api.seen == []


def test_junit_missing_file(api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*REPORT, "--junit", str(tmp_path / "nowhere.xml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert api.seen == []
