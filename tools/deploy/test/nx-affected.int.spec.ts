/// <reference types="jest" />
import { affectedServices } from '../affected-services';
import { catalogServices } from '../catalog/load-services';

/**
 * From the real Nx project graph (no daemon): which services a change affects, as CI computes
 * it to decide which images to build. Each call builds the graph, hence the timeout.
 */
describe('services affected by a change (nx show projects --affected)', () => {
  const services = catalogServices().map((s) => s.name);
  jest.setTimeout(120_000);

  it.each(services)('a change inside apps/%s affects that service alone', (service) => {
    expect(affectedServices([`--files=apps/${service}/src/main.ts`])).toEqual([service]);
  });

  it('a change to libs/contracts affects all four services', () => {
    expect(affectedServices(['--files=libs/contracts/src/registry.ts'])).toEqual(services);
    expect(services).toHaveLength(4);
  });
});
