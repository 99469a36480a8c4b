/** Labels every resource of a service carries; `selectorLabels` alone select its pods. */
export function selectorLabels(service: string): Record<string, string> {
  return { 'app.kubernetes.io/name': service, 'app.kubernetes.io/part-of': 'platform' };
}

export function serviceLabels(service: string, component: 'service' | 'kafka' | 'database'): Record<string, string> {
  return { ...selectorLabels(service), 'app.kubernetes.io/component': component };
}
