/**
 * The queries of the Grafana dashboards in deploy/grafana/dashboards, taken apart with Prometheus' own PromQL
 * grammar (@prometheus-io/lezer-promql), and the services' /metrics read back as samples, so a test can ask
 * whether each selector of each panel finds series in what the services really export.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { REPO_ROOT } from '@payment-manager/testkit/discovery';
import { parser } from '@prometheus-io/lezer-promql';

interface Target {
  datasource?: { uid?: string };
  expr?: string;
  query?: string;
  limit?: number;
}
interface Panel {
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  title: string;
  panels: Panel[];
  templating?: { list: Array<{ name: string; allValue?: string }> };
}

export interface PanelQuery {
  where: string;
  datasource: string;
  query: string;
  limit?: number;
}

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

const DASHBOARD_DIR = `${REPO_ROOT}deploy/grafana/dashboards`;

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/**
 * Every panel query of every dashboard. Grafana variables are replaced as a dashboard showing "All" does
 * (the variable's allValue), and the range macros by plain durations.
 */
export function dashboardQueries(): PanelQuery[] {
  const queries: PanelQuery[] = [];
  for (const file of readdirSync(DASHBOARD_DIR).filter((name) => name.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(`${DASHBOARD_DIR}/${file}`, 'utf8')) as Dashboard;
    const variables = dashboard.templating?.list ?? [];
    const expand = (text: string) =>
      variables
        .reduce((result, variable) => result.replaceAll(`$${variable.name}`, variable.allValue ?? '.+'), text)
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '1h');
    for (const panel of allPanels(dashboard.panels)) {
      for (const target of panel.targets ?? []) {
        const datasource = target.datasource?.uid ?? panel.datasource?.uid ?? '';
        const query = target.expr ?? target.query ?? '';
        queries.push({
          where: `${file} "${panel.title}"`,
          datasource,
          query: expand(query),
          ...(target.limit ? { limit: target.limit } : {}),
        });
      }
    }
  }
  return queries;
}

export interface LabelMatcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  metric: string;
  matchers: LabelMatcher[];
  /** Labels of the enclosing aggregations' `by (…)` clauses: each must exist on the selected series. */
  groupedBy: string[];
}

function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
  return children;
}

function descendants(node: SyntaxNode, name: string): SyntaxNode[] {
  return childrenOf(node).flatMap((child) => (child.name === name ? [child] : descendants(child, name)));
}

/** The vector selectors of a PromQL expression with their matchers and the `by` labels around them. */
export function selectorsOf(expr: string): Selector[] {
  const tree = parser.parse(expr);
  const text = (node: SyntaxNode) => expr.slice(node.from, node.to);
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}`);
    },
  });
  if (errors.length > 0) throw new Error(`PromQL does not parse (${errors.join(', ')}): ${expr}`);
  const selectors: Selector[] = [];
  const visit = (node: SyntaxNode, groupedBy: string[]) => {
    if (node.name === 'VectorSelector') {
      const identifier = childrenOf(node).find((child) => child.name === 'Identifier');
      const matchers = descendants(node, 'UnquotedLabelMatcher').map((matcher) => {
        const [label, op, value] = childrenOf(matcher);
        return {
          label: text(label as SyntaxNode),
          op: text(op as SyntaxNode) as LabelMatcher['op'],
          value: JSON.parse(text(value as SyntaxNode)) as string,
        };
      });
      selectors.push({ metric: identifier ? text(identifier) : '', matchers, groupedBy });
      return;
    }
    let labels = groupedBy;
    if (node.name === 'AggregateExpr') {
      const modifier = childrenOf(node).find((child) => child.name === 'AggregateModifier');
      if (modifier && childrenOf(modifier).some((child) => child.name === 'By')) {
        labels = [...groupedBy, ...descendants(modifier, 'LabelName').map(text)];
      }
    }
    for (const child of childrenOf(node)) visit(child, labels);
  };
  visit(tree.topNode, []);
  return selectors;
}

export interface Sample {
  metric: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Samples of the Prometheus text exposition format (the only format prom-client writes). Small on purpose:
 * `name{label="value",…} number` lines, with the format's three escapes in label values.
 */
export function parseExposition(text: string, extraLabels: Record<string, string> = {}): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = { ...extraLabels };
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"/g)) {
      labels[pair[1] as string] = (pair[2] as string).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ metric: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

function matches(sample: Sample, matcher: LabelMatcher): boolean {
  const value = sample.labels[matcher.label] ?? '';
  const fullMatch = () => new RegExp(`^(?:${matcher.value})$`).test(value);
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return fullMatch();
    case '!~':
      return !fullMatch();
  }
}

/**
 * Why `selector` would show nothing on these samples, or null when it finds series. Matchers that select a
 * value by regular expression (e.g. status_code=~"5..") need traffic of that kind, so for them only the label
 * itself must exist; every other matcher and every `by` label must match real series.
 */
export function whyEmpty(selector: Selector, samples: Sample[]): string | null {
  const ofMetric = samples.filter((sample) => sample.metric === selector.metric);
  if (ofMetric.length === 0) return `no series ${selector.metric}`;
  const valueRegex = (matcher: LabelMatcher) => matcher.op === '=~' && matcher.value !== '.+';
  let selected = ofMetric;
  for (const matcher of selector.matchers) {
    if (valueRegex(matcher)) {
      if (!ofMetric.some((sample) => matcher.label in sample.labels)) return `no label ${matcher.label}`;
      continue;
    }
    selected = selected.filter((sample) => matches(sample, matcher));
    if (selected.length === 0) return `no series matches ${matcher.label}${matcher.op}"${matcher.value}"`;
  }
  const missing = selector.groupedBy.filter((label) => !selected.some((sample) => label in sample.labels));
  return missing.length > 0 ? `no label ${missing.join(', ')} to group by` : null;
}
