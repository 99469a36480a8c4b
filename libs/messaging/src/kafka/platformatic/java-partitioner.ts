/**
 * The Java client's default partitioner (murmur2 of the key's bytes, made positive), as kafkajs'
 * DefaultPartitioner computes it, in 32-bit integer arithmetic. @platformatic/kafka's own
 * compatibilityPartitioner gives the same numbers through BigInt, a heap number for every step:
 * about seventy a 36-character key, which the relay paid for every message it sent.
 * Returns the hash; the producer takes it modulo the topic's partition count.
 */
export function javaCompatiblePartitioner(_message: unknown, key: unknown): number {
  return Buffer.isBuffer(key) ? murmur2(key) & 0x7fffffff : 0;
}

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** org.apache.kafka.common.utils.Utils.murmur2, line for line. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const whole = length & ~3;
  let h = SEED ^ length;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2] << 16;
    if (rest >= 2) h ^= data[whole + 1] << 8;
    h ^= data[whole];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}
