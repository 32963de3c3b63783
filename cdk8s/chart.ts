/** `npm run chart`: regenerates the Helm chart in charts/payment-manager from the cdk8s app (src/helm-chart.ts). */
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { CHART_DIR, writeHelmChart } from './src/helm-chart.ts';

parseCli({
  command: 'npm run chart --',
  summary:
    'Regenerates the Helm chart in charts/payment-manager from the cdk8s app (a test checks that it is current).',
  options: {},
});
oneLineErrors('chart');

const count = writeHelmChart();
console.log(`wrote ${count} files to ${CHART_DIR}`);
