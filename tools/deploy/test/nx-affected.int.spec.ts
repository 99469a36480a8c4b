/// <reference types="jest" />
import { affectedServices } from '../affected-services';
import { catalogConsole, catalogServices } from '../catalog/load-services';

/**
 * From the real Nx project graph (no daemon): which services a change affects, as CI computes
 * it to decide which images to build. Each call builds the graph, hence the timeout.
 */
describe('services affected by a change (nx show projects --affected)', () => {
  const services = catalogServices().map((s) => s.name);
  const deployable = [...services, catalogConsole().name];
  jest.setTimeout(120_000);

  it.each(deployable)('a change inside apps/%s affects that app alone', (service) => {
    expect(affectedServices([`--files=apps/${service}/src/main.ts`])).toEqual([service]);
  });

  it('a change to libs/contracts affects every service of the catalog', () => {
    expect(affectedServices(['--files=libs/contracts/src/registry.ts']).filter((name) => services.includes(name))).toEqual(services);
    expect(services.length).toBeGreaterThan(0);
  });

  it('a change to libs/messaging affects the console too: its image is built with the services', () => {
    expect(affectedServices(['--files=libs/messaging/src/index.ts'])).toEqual(deployable);
  });
});
