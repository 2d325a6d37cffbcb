/** Test helper: the mappings of a store file, read through the gateway's own CLI (`devices list --json`). */
import { runGatewayCli } from '../../src/demo/processes';

export async function storeRows(spec: string): Promise<Array<Record<string, unknown>>> {
  const r = await runGatewayCli(['devices', 'list', '--store', spec, '--json']);
  expect(r.code).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
