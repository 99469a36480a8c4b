export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const SERVICE_KIT_OPTIONS = Symbol('SERVICE_KIT_OPTIONS');
/** The service's `Metrics` (libs/core's port), for the libraries a service wires itself (e.g. the event store). */
export const METRICS = Symbol('METRICS');
