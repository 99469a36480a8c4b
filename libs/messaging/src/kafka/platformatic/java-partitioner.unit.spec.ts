import { compatibilityPartitioner } from '@platformatic/kafka';
import { Partitioners } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { javaCompatiblePartitioner, murmur2 } from './java-partitioner';

const kafkajsPartition = Partitioners.DefaultPartitioner();
const partitionMetadata = (count: number) => Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));

/** Keys of every length remainder, ASCII, multi-byte UTF-8 and raw bytes (high bits set). */
function keys(): Buffer[] {
  const out: Buffer[] = [Buffer.alloc(0)];
  for (let length = 1; length <= 70; length++) out.push(randomBytes(length));
  for (let i = 0; i < 300; i++) out.push(Buffer.from(randomUUID()));
  out.push(Buffer.from('clé-ü-漢字-🙂'), Buffer.from('user-42'), Buffer.from('21'));
  return out;
}

describe('javaCompatiblePartitioner', () => {
  const all = keys();

  it("hashes as @platformatic/kafka's compatibilityPartitioner (BigInt murmur2) for every key", () => {
    for (const key of all) expect([key.toString('hex'), javaCompatiblePartitioner(undefined, key)]).toEqual([key.toString('hex'), compatibilityPartitioner(undefined as never, key)]);
  });

  it("puts every key on the partition kafkajs' DefaultPartitioner (the Java client's) picks", () => {
    for (const partitions of [1, 3, 6, 12, 64]) {
      for (const key of all.filter((k) => k.length > 0)) {
        const ours = javaCompatiblePartitioner(undefined, key) % partitions;
        const theirs = kafkajsPartition({ topic: 't', partitionMetadata: partitionMetadata(partitions), message: { key, value: null } });
        expect([key.toString('hex'), partitions, ours]).toEqual([key.toString('hex'), partitions, theirs]);
      }
    }
  });

  it('is never negative, and 0 without a key', () => {
    expect(all.every((key) => javaCompatiblePartitioner(undefined, key) >= 0)).toBe(true);
    expect(javaCompatiblePartitioner(undefined, undefined)).toBe(0);
    expect(murmur2(Buffer.alloc(0))).toBe(murmur2(new Uint8Array(0)));
  });
});
