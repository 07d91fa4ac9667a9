// Builds the MCP App into ONE self-contained HTML file (no network at run time):
//   node build.mjs            -> writes ../mixpeek_tasks_mcp/ui/board.html
//   node build.mjs --check    -> rebuilds in memory and fails unless the committed file has the same bytes
//   node build.mjs --host F   -> also bundles the test-only host page script (AppBridge) to F
// esbuild output is deterministic for a given esbuild version and input, both pinned by package-lock.json.
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, "..", "mixpeek_tasks_mcp", "ui", "board.html");
// Mirrors BOARD_SIZE_BUDGET in mixpeek_tasks_mcp/ui.py (a Python test checks both agree).
const SIZE_BUDGET = 700 * 1024;

// zod re-exports every locale (~260 KB) through `export * as locales`; only English messages are used.
const englishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${"node_modules"}/zod/`) ? { path: join(dirname(args.importer), args.path), namespace: "zod-locales" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), "en.js"))};`,
      resolveDir: dirname(args.path),
      loader: "js",
    }));
  },
};

async function bundle(entry, plugins = []) {
  const result = await build({
    nodePaths: [join(here, "node_modules")],
    entryPoints: [join(here, entry)],
    bundle: true,
    minify: true,
    format: "iife",
    target: "es2022",
    platform: "browser",
    write: false,
    legalComments: "none",
    charset: "utf8",
    treeShaking: true,
    define: { "process.env.NODE_ENV": '"production"' },
    drop: ["debugger"],
    pure: ["console.debug"],
    plugins,
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

export async function buildBoard() {
  const js = await bundle("src/main.js", [englishOnly]);
  const css = readFileSync(join(here, "src", "board.css"), "utf8");
  const template = readFileSync(join(here, "src", "board.html"), "utf8");
  // Inline scripts end at the first "</script"; keep the bundle from closing its own tag.
  const safeJs = js.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
  const sources = ["build.mjs", "package-lock.json", "src/main.js", "src/render.js", "src/board.css", "src/board.html"];
  const digest = createHash("sha256");
  for (const name of sources) digest.update(name + "\0" + readFileSync(join(here, name)));
  const html = template
    .replace("/*__CSS__*/", () => css.trim())
    .replace("/*__JS__*/", () => safeJs.trim())
    .replace("__SOURCE_SHA256__", digest.digest("hex"));
  return html;
}

const args = process.argv.slice(2);
const html = await buildBoard();
const size = Buffer.byteLength(html);
if (size > SIZE_BUDGET) {
  console.error(`board.html is ${size} bytes, over the ${SIZE_BUDGET}-byte budget`);
  process.exit(1);
}
if (args.includes("--check")) {
  const committed = readFileSync(OUT, "utf8");
  if (committed !== html) {
    console.error("mixpeek_tasks_mcp/ui/board.html differs from a rebuild of app/: run `npm run build` in app/ and commit");
    process.exit(1);
  }
  console.log(`board.html matches its sources (${size} bytes, budget ${SIZE_BUDGET})`);
} else {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, html);
  console.log(`wrote ${OUT} (${size} bytes, budget ${SIZE_BUDGET})`);
}
const hostAt = args.indexOf("--host");
if (hostAt >= 0) {
  writeFileSync(args[hostAt + 1], await bundle("../tests/browser/host/host.js"));
}
