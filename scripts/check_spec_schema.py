#!/usr/bin/env python3
"""Checks every spec file against spec/schema.json, and that the schema rejects a misspelled key.

The generator checks more (references, duplicates); this keeps the editor-facing schema honest.
"""
import copy
import glob
import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

root = Path(__file__).resolve().parent.parent / "spec"
schema = json.loads((root / "schema.json").read_text())
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)

files = sorted(glob.glob(str(root / "services/*.json")) + glob.glob(str(root / "groups/*.json")))
problems = 0
for path in files:
    doc = json.loads(Path(path).read_text())
    for error in validator.iter_errors(doc):
        problems += 1
        location = "/".join(map(str, error.absolute_path))
        print(f"{Path(path).relative_to(root.parent)}: {location}: {error.message[:200]}")

# The schema must be able to fail: a misspelled endpoint key is caught.
doc = json.loads((root / "groups/department.json").read_text())
broken = copy.deepcopy(doc)
broken["endpoints"][0]["idempotant"] = broken["endpoints"][0].pop("idempotent")
if validator.is_valid(broken):
    problems += 1
    print("spec/schema.json accepts a misspelled key (idempotant)")

print(f"spec schema: {len(files)} files, {problems} problems")
sys.exit(1 if problems else 0)
