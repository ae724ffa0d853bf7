// Writes target/api-page/index.html (+ redoc.standalone.js): every OpenAPI document of
// generated/openapi/ embedded inline, one shown at a time (`?service=<id>`, the first by default),
// rendered by the pinned Redoc bundle. Run by scripts/api_page.sh.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const documents = join(root, "generated", "openapi");
const out = join(root, "target", "api-page");

const services = readdirSync(documents)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => {
    const path = join(documents, f);
    let spec;
    try {
      spec = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new Error(`${path}: not JSON (${e.message}); run \`cargo run -p qywx-codegen\``);
    }
    return { id: f.replace(/\.json$/, ""), title: spec.info?.title ?? f, spec };
  });
if (services.length === 0) {
  throw new Error(`${documents}: no OpenAPI documents; run \`cargo run -p qywx-codegen\``);
}

// Inline JSON must not close the <script> element it sits in.
const inline = (value) => JSON.stringify(value).replace(/</g, "\\u003c");
const escapeHtml = (text) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const links = services
  .map((s) => `<a href="?service=${encodeURIComponent(s.id)}" data-service="${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`)
  .join("\n      ");

const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>qywx API reference</title>
    <style>
      body { margin: 0; }
      nav { display: flex; gap: 1.5em; align-items: center; padding: 0.6em 1.2em; font: 15px sans-serif; background: #263238; color: #fff; }
      nav a { color: #cfd8dc; text-decoration: none; }
      nav a.current { color: #fff; font-weight: bold; border-bottom: 2px solid #fff; }
    </style>
  </head>
  <body>
    <nav>
      <span>qywx API reference, generated from spec/:</span>
      ${links}
    </nav>
    <div id="redoc"></div>
    <script src="redoc.standalone.js"></script>
    <script>
      const services = ${inline(Object.fromEntries(services.map((s) => [s.id, s.spec])))};
      const wanted = new URLSearchParams(location.search).get("service");
      const id = wanted in services ? wanted : ${inline(services[0].id)};
      for (const a of document.querySelectorAll("nav a")) {
        a.classList.toggle("current", a.dataset.service === id);
      }
      document.title = services[id].info.title + ": qywx API reference";
      Redoc.init(services[id], { expandResponses: "200" }, document.getElementById("redoc"));
    </script>
  </body>
</html>
`;

mkdirSync(out, { recursive: true });
copyFileSync(join(here, "node_modules", "redoc", "bundles", "redoc.standalone.js"), join(out, "redoc.standalone.js"));
writeFileSync(join(out, "index.html"), html);
console.log(`wrote ${join("target", "api-page", "index.html")}: ${services.map((s) => s.id).join(", ")}`);
