"""Adds up the TRX files of one test run, names the failed tests, and prints the closing line CI reads."""
import glob
import sys
import xml.etree.ElementTree as ET

ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
failures = []
files = glob.glob(f"{sys.argv[1]}/**/*.trx", recursive=True)
for path in files:
    root = ET.parse(path).getroot()
    counters = root.find("t:ResultSummary/t:Counters", ns)
    if counters is None:
        continue
    passed += int(counters.get("passed", 0))
    failed += sum(int(counters.get(k, 0)) for k in ("failed", "error", "timeout", "aborted"))
    skipped += int(counters.get("notExecuted", 0))
    for result in root.iterfind(".//t:UnitTestResult", ns):
        if result.get("outcome") not in ("Passed", "NotExecuted"):
            message = result.find("t:Output/t:ErrorInfo/t:Message", ns)
            failures.append((result.get("testName"), (message.text or "").strip().splitlines()[:3] if message is not None else []))
for name, lines in failures:
    print(f"FAILED {name}")
    for line in lines:
        print(f"    {line}")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
if not files or passed == 0 or failed:
    sys.exit(1)
