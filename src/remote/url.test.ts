import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskCredentials, redactMessage, redisTarget } from './url.js';

test('Redis URLs: credentials never reach what is shown', () => {
  assert.equal(maskCredentials('redis://basin:s3cret@10.0.0.5:6379/2'), 'redis://***@10.0.0.5:6379/2');
  assert.equal(maskCredentials('rediss://:only-password@host:6380'), 'rediss://***@host:6380');
  assert.equal(maskCredentials('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  const t = redisTarget('rediss://u:p%40ss@cache.internal:6380');
  assert.equal(t.shown, 'rediss://***@cache.internal:6380');
  assert.equal(redactMessage(`failed to reach ${t.url} twice`, t), 'failed to reach rediss://***@cache.internal:6380 twice');
});

test('Redis URLs: other schemes and garbage are refused with what was expected, without the secret', () => {
  assert.throws(() => redisTarget('http://user:pw@host'), /expected a redis:\/\/ or rediss:\/\/ URL, got one starting with http:\/\//);
  assert.throws(
    () => redisTarget('user:pw@host:6379 extra'),
    (e: Error) => /expected a Redis URL like redis:\/\/host:6379/.test(e.message) || /expected a redis:\/\//.test(e.message),
  );
  assert.throws(() => redisTarget('not a url'), (e: Error) => !e.message.includes('pw'));
});
