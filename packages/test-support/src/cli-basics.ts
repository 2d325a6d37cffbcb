/// <reference types="jest" />
/**
 * The behaviour every CLI of the repository shares, as Jest tests: `--version` prints the
 * package's version, and `--help` into a closed pipe (`| head -1`) exits 0 quietly instead of
 * crashing with EPIPE.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from './child-process';

/**
 * Declares the shared CLI tests for the entry point `main` (a built `dist/main.js`) of the package
 * in `packageDir` (where its package.json is).
 */
export function describeCliBasics(name: string, main: string, packageDir: string): void {
  describe(`${name}: --version, and a closed stdout (| head -1)`, () => {
    const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
    it('--version prints the package version and exits 0', async () => {
      const r = await runProcess(process.execPath, [main, '--version']);
      expect(r).toMatchObject({ code: 0, stdout: `${version}\n` });
    });
    it('--help into a closed pipe exits 0 quietly instead of crashing with EPIPE', async () => {
      const r = await runProcess(process.execPath, [main, '--help'], { closeStdout: true });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  });
}
