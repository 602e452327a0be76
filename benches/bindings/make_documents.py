#!/usr/bin/env python3
"""Writes the load_snapshot documents of examples/data (tenant demo, surface home) as one JSON
text, every file embedded verbatim, for the binding-overhead scripts.

usage: make_documents.py EXAMPLES_DATA_DIR OUT_FILE
"""
import json
import os
import sys

data, out = sys.argv[1], sys.argv[2]


def read(*parts: str) -> str:
    with open(os.path.join(data, *parts), encoding="utf-8") as f:
        return f.read()


manifest = read("manifest.json")
artifacts = []
for uri in json.loads(manifest)["current"].values():
    key = uri.split("://", 1)[1].split("/", 1)[1]  # s3://bucket/key -> objectstore/key
    artifacts.append(json.dumps(uri) + ":" + read("objectstore", key))
text = (
    '{"tenant":"demo","surface":"home","config":' + read("config.json")
    + ',"rules":' + read("rules.json")
    + ',"manifest":' + manifest
    + ',"artifacts":{' + ",".join(artifacts) + "}}"
)
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
with open(out, "w", encoding="utf-8") as f:
    f.write(text)
