/** Standard labels (app.kubernetes.io/*) shared by selectors, NetworkPolicies and Strimzi network peers. */
export const PART_OF = 'payment-manager';

export function appLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
  };
}

/** The subset of labels that identifies a workload's pods: stable across releases, used as selectors. */
export function selectorLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': PART_OF };
}
