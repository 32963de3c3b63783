import { describeWith } from '@payment-manager/testkit/services';
import { it } from 'vitest';
import { scenarios } from './scenarios/catalogue.ts';
import { createSyncDriver } from './scenarios/sync-driver.ts';
import { useTestApi } from './support/app.ts';

describeWith(['postgres', 'wiremock'], 'spec §13.1 scenarios in sync mode (API alone)', () => {
  const api = useTestApi();

  for (const scenario of scenarios) {
    it(`${scenario.id}. ${scenario.name}`, () => scenario.run(createSyncDriver(api.app, api.pool)));
  }
});
