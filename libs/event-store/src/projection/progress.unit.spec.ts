import { ProgressMeter } from './progress';

describe('projection progress', () => {
  it('reports events per second since the start, the position and the lag behind the head', () => {
    const meter = new ProgressMeter('summary', 1_000);
    meter.add(300);
    meter.add(200);
    expect(meter.report({ transactionId: 7, globalPosition: 600 }, 1_000, false, 3_000)).toEqual({
      projection: 'summary',
      processed: 500,
      eventsPerSecond: 250,
      position: { transactionId: 7, globalPosition: 600 },
      lag: 400,
      done: false,
    });
  });

  it('reports no lag once done, and none below zero on the way', () => {
    const meter = new ProgressMeter('summary', 0);
    expect(meter.report({ transactionId: 7, globalPosition: 600 }, 590, false, 10).lag).toBe(0);
    expect(meter.report({ transactionId: 7, globalPosition: 600 }, 700, true, 10).lag).toBe(0);
    expect(meter.report({ transactionId: 7, globalPosition: 600 }, 700, true, 0).eventsPerSecond).toBe(0);
  });
});
