// Compile JSON schemas the way VS Code and the MCP TypeScript SDK do (ajv), with Ajv2020 strict: true.
// Reads [{"name": ..., "schema": ...}] on stdin; prints [{"name": ..., "ok": bool, "error": ...}] on stdout.
import Ajv2020 from "ajv/dist/2020.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ name, schema }) => {
  const warnings = [];
  const logger = { log() {}, warn: (...args) => warnings.push(args.join(" ")), error: (...args) => warnings.push(args.join(" ")) };
  try {
    const ajv = new Ajv2020({ strict: true, allErrors: true, logger });
    ajv.compile(schema);
    return { name, ok: warnings.length === 0, error: warnings.join("; ") || null };
  } catch (error) {
    return { name, ok: false, error: String(error && error.message ? error.message : error) };
  }
});
process.stdout.write(JSON.stringify(results));
