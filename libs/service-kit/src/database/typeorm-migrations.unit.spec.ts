import { typeOrmMigrations } from './typeorm-migrations';

describe('typeOrmMigrations', () => {
  it('names each migration so TypeORM orders it by its timestamp', () => {
    const [Migration] = typeOrmMigrations([{ id: '1764000000000-messaging-outbox-inbox', up: 'SELECT 1', down: 'SELECT 2' }]);
    expect(new Migration().name).toBe('MessagingOutboxInbox1764000000000');
  });

  it('refuses ids TypeORM could not order', () => {
    expect(() => typeOrmMigrations([{ id: 'outbox', up: '', down: '' }])).toThrow(/13-digit timestamp/);
  });
});
