import { describeWith } from '@payment-manager/testkit/services';
import { beforeAll, describe, it } from 'vitest';
import { scenarios } from './scenarios/catalogue.ts';
import { createFetchDriver } from './scenarios/fetch-driver.ts';
import { createSyncDriver } from './scenarios/sync-driver.ts';
import { useTestApi } from './support/app.ts';

describeWith(['postgres', 'wiremock'], 'catalogue scenarios in sync mode (API alone)', () => {
  const api = useTestApi();

  describe('through inject', () => {
    for (const scenario of scenarios) {
      it(`${scenario.id}. ${scenario.name}`, () => scenario.run(createSyncDriver(api.app, api.pool)));
    }
  });

  describe('over a real socket', () => {
    let baseUrl = '';
    // useTestApi closes the app, and with it the listener.
    beforeAll(async () => {
      baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
    });

    for (const scenario of scenarios) {
      it(`${scenario.id}. ${scenario.name}`, () =>
        scenario.run(createFetchDriver({ webhooksBaseUrl: baseUrl, apiBaseUrl: baseUrl, database: api.pool })));
    }
  });
});
