// Bundles our entry points and the libraries they import into ../aftersales/static/dist.
import * as esbuild from "esbuild";
import { cpSync, mkdirSync } from "node:fs";

const outdir = "../aftersales/static/dist";
mkdirSync(outdir, { recursive: true });

await esbuild.build({
  entryPoints: { app: "src/app.js", charts: "src/charts.js", app_css: "src/app.css" },
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["es2019", "safari13"],
  outdir,
  loader: { ".woff": "file", ".woff2": "file" },
  assetNames: "fonts/[name]",
  logLevel: "info",
});
// Bootstrap's bundle (with Popper) is served as it is.
cpSync("node_modules/bootstrap/dist/js/bootstrap.bundle.min.js", `${outdir}/bootstrap.bundle.min.js`);
