// Loads target/api-page/index.html in headless Chromium, once per service of spec/, and fails
// unless every endpoint of the spec is rendered (its summary, or its operationId, in the page's
// text outside scripts: the documents embedded inline do not count). Writes a screenshot to
// target/ci-artifacts/api-page.png. Run by `scripts/api_page.sh --check`.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const page = pathToFileURL(join(root, "target", "api-page", "index.html")).href;
const chromium = process.env.CHROMIUM ?? "chromium";

const readJsonDir = (dir) =>
  readdirSync(join(root, "spec", dir))
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(root, "spec", dir, f), "utf8")));
const services = readJsonDir("services").map((f) => f.service.id);
const groups = readJsonDir("groups");

/// Runs Chromium headless with a fresh profile; the background-networking flags keep it from
/// dialling out (its connections are refused on a closed network).
function chromiumRun(args) {
  const profile = mkdtempSync(join(tmpdir(), "qywx-api-page-"));
  try {
    const run = spawnSync(
      chromium,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=10000",
        ...args,
      ],
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
    );
    if (run.error) throw new Error(`cannot run ${chromium}: ${run.error.message} (scripts/test.sh installs it)`);
    if (run.status !== 0) throw new Error(`${chromium} exited ${run.status}: ${run.stderr.slice(-2000)}`);
    return run.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

const entities = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };
/// The visible text of a DOM dump: no scripts, styles or tags; entities decoded; spaces collapsed.
function visibleText(html) {
  return html
    .replace(/<script\b[\s\S]*?<\/script>/gi, " ")
    .replace(/<style\b[\s\S]*?<\/style>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (all, name) => {
      if (name[0] === "#") {
        const code = name[1].toLowerCase() === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return String.fromCodePoint(code);
      }
      return entities[name.toLowerCase()] ?? all;
    })
    .replace(/\s+/g, " ");
}
const normalize = (text) => text.replace(/\s+/g, " ").trim();

let passed = 0;
const failures = [];
for (const service of services) {
  const endpoints = groups.filter((g) => g.group.service === service).flatMap((g) => g.endpoints ?? []);
  const text = visibleText(chromiumRun(["--dump-dom", `${page}?service=${encodeURIComponent(service)}`]));
  const missing = endpoints.filter((e) => !text.includes(normalize(e.summary)) && !text.includes(e.id));
  passed += endpoints.length - missing.length;
  for (const e of missing) failures.push(`${service}: endpoint ${e.id} (“${e.summary}”) is not rendered`);
  console.log(`${service}: ${endpoints.length - missing.length} of ${endpoints.length} endpoints rendered`);
}
if (passed === 0 && failures.length === 0) failures.push("spec/ lists no endpoints");

const artifacts = join(root, "target", "ci-artifacts");
mkdirSync(artifacts, { recursive: true });
const screenshot = join(artifacts, "api-page.png");
chromiumRun([`--screenshot=${screenshot}`, "--window-size=1280,2000", `${page}?service=${encodeURIComponent(services.at(-1))}`]);
console.log(`screenshot: ${join("target", "ci-artifacts", "api-page.png")}`);

for (const f of failures) console.error(f);
console.log(failures.length === 0 ? `api page: all ${passed} endpoints rendered` : `api page: ${failures.length} endpoints not rendered`);
process.exit(failures.length === 0 ? 0 : 1);
