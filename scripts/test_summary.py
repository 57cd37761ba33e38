#!/usr/bin/env python3
"""Summarises a CTest JUnit report: how many tests ran, passed, failed and were skipped, and
which skipped for want of the real-data folder. Exits 1 when the folder exists and a test still
skipped for missing data (the data is there, so nothing may skip), 0 otherwise."""
import argparse
import os
import sys
import xml.etree.ElementTree as ET

MARK = "(GRIDWATCH_TEST_DATA)"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--junit", required=True)
    ap.add_argument("--data-dir", required=True)
    args = ap.parse_args()
    if not os.path.exists(args.junit):
        print(f"test summary: no report at {args.junit} (ctest did not run)", file=sys.stderr)
        return 1
    cases = ET.parse(args.junit).getroot().iter("testcase")
    ran = passed = failed = skipped = 0
    for_data = []
    for case in cases:
        ran += 1
        status = case.get("status", "")
        out = "".join(e.text or "" for e in case.iter("system-out"))
        skip = case.find("skipped") is not None or status in ("skipped", "notrun", "disabled")
        if skip:
            skipped += 1
            if MARK in out:
                line = next((l.strip() for l in out.splitlines() if MARK in l), "")
                for_data.append((case.get("name", "?"), line))
        elif status == "fail" or case.find("failure") is not None:
            failed += 1
        else:
            passed += 1
    print(f"tests: {ran} ran, {passed} passed, {failed} failed, {skipped} skipped "
          f"({len(for_data)} of them for missing real data)")
    have_data = os.path.isdir(args.data_dir)
    if for_data and not have_data:
        print(f"  the real-data tests need {args.data_dir} (public data sets kept outside the "
              "project); to run them: GRIDWATCH_TEST_DATA=/path/to/shared/data scripts/test.sh -L realdata")
    if for_data and have_data:
        print(f"test summary: {len(for_data)} test(s) skipped for missing data although "
              f"{args.data_dir} exists:", file=sys.stderr)
        for name, line in for_data:
            print(f"  {name}: {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
