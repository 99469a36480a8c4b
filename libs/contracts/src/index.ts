export * from './contract';
export * from './validation';
export * from './registry';
export * from './events/users.events';
export * from './events/endpoints.events';
export * from './events/templates.events';
export * from './events/notifications.events';
