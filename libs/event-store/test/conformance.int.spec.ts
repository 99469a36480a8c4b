import { describeEventStoreConformance } from './conformance/event-store.conformance';
import { storeDatabase } from './support/store-database';

jest.setTimeout(60_000);

describeEventStoreConformance('PostgresEventStore', async () => {
  const { store, close } = await storeDatabase('conformance');
  return { store, close };
});
