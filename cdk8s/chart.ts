/** `npm run chart`: regenerates the Helm chart in charts/payment-manager from the cdk8s app (src/helm-chart.ts). */
import { CHART_DIR, writeHelmChart } from './src/helm-chart.ts';

const count = writeHelmChart();
console.log(`wrote ${count} files to ${CHART_DIR}`);
