export * from './names';
export * from './eventually';
export * from './postgres';
export * from './kafka';
export * from './topic-reader';
export * from './migrations';
