import { BURST_ROWS, RelayTraffic } from './relay-traffic';

describe('RelayTraffic', () => {
  it('is busy once a window saw rows at the busy rate, and not after a window below it', () => {
    const traffic = new RelayTraffic(100, 250, 0);
    // 30 rows in the first 250 ms: 120 a second.
    for (let t = 10; t < 250; t += 10) expect(traffic.record(1, t)).toBe(false);
    expect(traffic.record(6, 250)).toBe(true);
    // 20 rows in the next 250 ms: 80 a second.
    for (let t = 260; t < 500; t += 20) expect(traffic.record(1, t)).toBe(true);
    expect(traffic.record(8, 500)).toBe(false);
  });

  it('is busy at once after a burst, and stays so to the end of the window', () => {
    const traffic = new RelayTraffic(100, 250, 0);
    expect(traffic.record(BURST_ROWS, 5)).toBe(true);
    expect(traffic.record(0, 100)).toBe(true);
    // The window's rate (10 rows in 250 ms, 40 a second) is below the busy rate.
    expect(traffic.record(0, 250)).toBe(false);
  });

  it('takes a long sleep as one long window: a lone row after it is not busy', () => {
    const traffic = new RelayTraffic(100, 250, 0);
    expect(traffic.record(1, 60_000)).toBe(false);
    expect(traffic.record(0, 60_010)).toBe(false);
  });
});
