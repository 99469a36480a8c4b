import { ConfigurationError, EnvReader, type Env } from '../config/env';
import { loadServiceConfig } from '../config/service-config';
import { serviceResource } from './otlp-tracing';
import { readTracingSettings } from './tracing-settings';

function settings(env: Env) {
  const read = new EnvReader(env);
  const result = readTracingSettings(read, env);
  read.done();
  return result;
}

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

describe('tracing settings (OTEL_* variables)', () => {
  it('are off unless the environment asks for spans: no exporter, no endpoint, no SDK', () => {
    expect(settings({})).toBeUndefined();
    expect(loadServiceConfig({ service: 'users', port: 3001 }, {}).tracing).toBeUndefined();
    expect(settings({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(settings({ ...ENDPOINT, OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });

  it('turn on with an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp, with the standard defaults', () => {
    const defaults = { protocol: 'http/protobuf', sampler: 'parentbased_always_on', samplerRatio: 1, scheduleDelayMs: 5000, exportTimeoutMs: 30_000, maxQueueSize: 2048, maxExportBatchSize: 512 };
    expect(settings(ENDPOINT)).toEqual(defaults);
    expect(settings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector/v1/traces' })).toEqual(defaults);
    expect(settings({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual(defaults);
    expect(loadServiceConfig({ service: 'users', port: 3001 }, ENDPOINT).tracing).toEqual(defaults);
  });

  it('read the protocol, the sampler and the batch processor settings', () => {
    expect(
      settings({
        ...ENDPOINT,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_BSP_EXPORT_TIMEOUT: '1000',
        OTEL_BSP_MAX_QUEUE_SIZE: '100',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50',
      }),
    ).toEqual({ protocol: 'http/json', sampler: 'parentbased_traceidratio', samplerRatio: 0.25, scheduleDelayMs: 200, exportTimeoutMs: 1000, maxQueueSize: 100, maxExportBatchSize: 50 });
  });

  it('refuse what they cannot honour, naming the variable', () => {
    const refused = (env: Env) => {
      try {
        settings(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        return (error as ConfigurationError).problems.join('\n');
      }
      throw new Error(`accepted ${JSON.stringify(env)}`);
    };
    expect(refused({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL must be one of http\/protobuf, http\/json/);
    expect(refused({ OTEL_TRACES_EXPORTER: 'zipkin' })).toMatch(/OTEL_TRACES_EXPORTER must be one of otlp, none/);
    expect(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT must be/);
    expect(refused({ ...ENDPOINT, OTEL_TRACES_SAMPLER_ARG: '2' })).toMatch(/OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1/);
    expect(refused({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'sometimes' })).toMatch(/OTEL_TRACES_SAMPLER must be one of/);
    expect(refused({ ...ENDPOINT, OTEL_SDK_DISABLED: 'yes' })).toMatch(/OTEL_SDK_DISABLED must be one of true, false/);
  });
});

describe('the resource spans are exported with', () => {
  const saved = { ...process.env };
  afterEach(() => (process.env = { ...saved }));

  it("names the service, unless OTEL_SERVICE_NAME says otherwise; OTEL_RESOURCE_ATTRIBUTES adds to it", () => {
    delete process.env['OTEL_SERVICE_NAME'];
    process.env['OTEL_RESOURCE_ATTRIBUTES'] = 'deployment.environment.name=staging';
    expect(serviceResource('users').attributes).toMatchObject({ 'service.name': 'users', 'deployment.environment.name': 'staging' });
    process.env['OTEL_SERVICE_NAME'] = 'users-eu';
    expect(serviceResource('users').attributes['service.name']).toBe('users-eu');
  });
});
