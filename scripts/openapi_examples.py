#!/usr/bin/env python3
"""Checks that every example of the OpenAPI documents given is valid against its own schema
(JSON Schema 2020-12, `$ref`s resolved in the document): request bodies, query parameters and
responses. An example marked `x-verbatim-departures` (a verbatim example of the source that
departs from the documented types; its description says how) is skipped and listed.

Uses `jsonschema` and `referencing`, which openapi-spec-validator (installed by scripts/test.sh)
depends on. Exit status 1 when any example is invalid.
"""
import json
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def pointer(*parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def main(files):
    checked, skipped, failures = 0, [], []
    for file in files:
        with open(file, encoding="utf-8") as f:
            doc = json.load(f)
        registry = Registry().with_resource("doc", Resource.from_contents(doc, default_specification=DRAFT202012))

        def check(where, schema_at, example):
            nonlocal checked
            if "x-verbatim-departures" in example:
                skipped.append(f"{where} (departs at {', '.join(example['x-verbatim-departures'])})")
                return
            checked += 1
            validator = Draft202012Validator({"$ref": "doc" + schema_at}, registry=registry)
            error = next(iter(validator.iter_errors(example["value"])), None)
            if error is not None:
                failures.append(f"{where}: {error.message[:300]}")

        for path, item in doc.get("paths", {}).items():
            for method, op in item.items():
                at = ("paths", path, method)
                name = f"{file}: {op.get('operationId', method + ' ' + path)}"
                for i, p in enumerate(op.get("parameters", [])):
                    for key, x in p.get("examples", {}).items():
                        check(f"{name} parameter {p['name']} example {key}", pointer(*at, "parameters", i, "schema"), x)
                body = op.get("requestBody", {}).get("content", {}).get("application/json")
                for key, x in (body or {}).get("examples", {}).items():
                    check(f"{name} request example {key}", pointer(*at, "requestBody", "content", "application/json", "schema"), x)
                for status, response in op.get("responses", {}).items():
                    media = response.get("content", {}).get("application/json")
                    for key, x in (media or {}).get("examples", {}).items():
                        check(
                            f"{name} response {status} example {key}",
                            pointer(*at, "responses", status, "content", "application/json", "schema"),
                            x,
                        )
    for s in skipped:
        print(f"skipped, verbatim: {s}")
    for f in failures:
        print(f"INVALID {f}", file=sys.stderr)
    print(f"openapi examples: {checked} valid against their schemas, {len(failures)} invalid, {len(skipped)} verbatim departures skipped")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
