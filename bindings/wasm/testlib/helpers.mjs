// Paths and case loading shared by the test files.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const WASM_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_ROOT = join(WASM_DIR, "..", "..");
export const CASES_DIR = process.env.RECSYS_CONFORMANCE_CASES ?? join(REPO_ROOT, "recsys-core", "tests", "conformance", "cases");

// Every conformance case file as raw text, sorted by file name.
export function readCases() {
  return readdirSync(CASES_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(CASES_DIR, file), "utf8") }));
}

// Parses the `json` text of a thrown RecsysError.
export function errorObject(e) {
  return JSON.parse(e.json);
}
