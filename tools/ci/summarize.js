#!/usr/bin/env node
// Adds up the Jest JSON reports of every package (reports/jest.json) and prints the plain
// "N passed, N failed, N skipped" line CI reads. Exits 1 on any failed test or suite, or no report.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
let passed = 0;
let failed = 0;
let skipped = 0;
let suitesFailed = 0;
const found = [];
for (const group of ['packages', 'apps', 'tools']) {
  const dir = path.join(root, group);
  if (!fs.existsSync(dir)) continue;
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name, 'reports', 'jest.json');
    if (!fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, 'utf8'));
    found.push(`${group}/${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests || 0);
    suitesFailed += r.numFailedTestSuites;
    if (r.numFailedTestSuites > 0 && r.numFailedTests === 0) failed += r.numFailedTestSuites; // a suite that did not compile or crashed
  }
}
for (const line of found) console.log(`  ${line}`);
if (found.length === 0) {
  console.log('0 passed, 1 failed');
  console.error('summarize: no Jest report found (reports/jest.json)');
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || suitesFailed > 0 ? 1 : 0);
