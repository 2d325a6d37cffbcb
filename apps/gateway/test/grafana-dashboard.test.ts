/**
 * docs/grafana-dashboard.json against the metrics the gateway exports: valid JSON in the shape
 * Grafana 10+ imports (a Prometheus datasource variable, panels with targets), every query naming
 * only metrics a `GatewayMetrics` registry has, and every metric of the gateway shown somewhere.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GatewayMetrics } from '../src/gateway-metrics';

const DASHBOARD = resolve(__dirname, '..', '..', '..', 'docs', 'grafana-dashboard.json');

interface Target {
  readonly expr?: string;
  readonly refId?: string;
  readonly datasource?: { type?: string; uid?: string };
}
interface Panel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly datasource?: { type?: string; uid?: string };
  readonly gridPos?: { h: number; w: number; x: number; y: number };
  readonly targets?: Target[];
  readonly panels?: Panel[];
}

/** Every panel, those inside rows included. */
function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** The exported families of a fresh registry: name → type. */
async function exported(): Promise<Map<string, string>> {
  const families = await new GatewayMetrics().registry.getMetricsAsJSON();
  return new Map(families.map((f) => [f.name, String(f.type)]));
}

/** The family a series name belongs to: a histogram's `_bucket`, `_sum` and `_count` series are its own. */
function familyOf(series: string, families: Map<string, string>): string | undefined {
  if (families.has(series)) return series;
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  return m !== null && families.get(m[1]!) === 'histogram' ? m[1] : undefined;
}

describe('docs/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    uid?: string;
    title?: string;
    schemaVersion?: number;
    panels?: Panel[];
    templating?: { list?: Array<{ type?: string; name?: string; query?: unknown }> };
  };
  const panels = allPanels(dashboard.panels ?? []);
  const graphs = panels.filter((p) => p.type !== 'row');
  const exprs = graphs.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));

  it('is a Grafana 10+ dashboard with a Prometheus datasource variable that every panel and target uses', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36); // Grafana 9.3+; 39 is Grafana 10.x
    const variable = dashboard.templating?.list?.find((v) => v.type === 'datasource');
    expect(variable).toMatchObject({ name: 'datasource', query: 'prometheus' });
    expect(graphs.length).toBeGreaterThanOrEqual(10);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of graphs) {
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.gridPos).toBeDefined();
      expect(p.gridPos!.x + p.gridPos!.w).toBeLessThanOrEqual(24);
      expect(p.targets?.length).toBeGreaterThan(0);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const t of p.targets ?? []) expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('names in its queries only metrics the gateway exports, with balanced brackets', async () => {
    const families = await exported();
    expect(exprs.length).toBeGreaterThan(0);
    for (const expr of exprs) {
      const names = expr.match(/\bmsgin5g_gateway_[a-z0-9_]+/g) ?? [];
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) {
        if (familyOf(name, families) === undefined) throw new Error(`${name} (in ${expr}) is not a metric the gateway exports`);
      }
      for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']] as const) {
        expect(expr.split(open).length).toBe(expr.split(close).length);
      }
    }
  });

  it("shows every one of the gateway's own metrics (process metrics: CPU, memory, event loop)", async () => {
    const families = await exported();
    const shown = new Set(exprs.flatMap((e) => (e.match(/\bmsgin5g_gateway_[a-z0-9_]+/g) ?? []).map((n) => familyOf(n, families))));
    const own = [...families.keys()].filter((n) => !/^msgin5g_gateway_(process|nodejs)_/.test(n));
    const missing = own.filter((n) => !shown.has(n));
    if (missing.length > 0) throw new Error(`no panel of docs/grafana-dashboard.json shows ${missing.join(', ')}: add one`);
    for (const n of ['msgin5g_gateway_process_cpu_seconds_total', 'msgin5g_gateway_process_resident_memory_bytes']) expect(shown.has(n)).toBe(true);
  });
});
