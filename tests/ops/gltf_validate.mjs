// Validate one .gltf with the Khronos glTF validator; print its report as JSON.
// Usage: node tests/ops/gltf_validate.mjs path/to/material.gltf
// Exit status: 0 when the report has no errors, 1 when it has, 2 on bad usage.
import { readFile } from "node:fs/promises";
import path from "node:path";
import validator from "gltf-validator";

const file = process.argv[2];
if (!file) {
  console.error("usage: node gltf_validate.mjs FILE.gltf");
  process.exit(2);
}
const bytes = new Uint8Array(await readFile(file));
const report = await validator.validateBytes(bytes, {
  uri: path.basename(file),
  externalResourceFunction: async (uri) =>
    new Uint8Array(await readFile(path.resolve(path.dirname(file), decodeURIComponent(uri)))),
});
console.log(JSON.stringify(report));
process.exit(report.issues.numErrors > 0 ? 1 : 0);
