import { render } from './render';

describe('render', () => {
  it('fills known placeholders, with or without inner spaces', () => {
    expect(render('Hi {{displayName}}, {{ email }}!', { displayName: 'Ada', email: 'ada@example.com' })).toBe('Hi Ada, ada@example.com!');
  });

  it('leaves unknown placeholders visible', () => {
    expect(render('Hi {{nickname}}', { displayName: 'Ada' })).toBe('Hi {{nickname}}');
  });
});
