import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../../src/run/events.js';
import { chooseUi, deferredReporter, type Reporter } from '../../src/ui/reporter.js';
import { ev, runStart } from './fixtures.js';

test('chooseUi: --ui wins; else the live view on a terminal, lines elsewhere and on CI', () => {
  assert.equal(chooseUi(undefined, true, {}), 'ink');
  assert.equal(chooseUi(undefined, false, {}), 'plain');
  assert.equal(chooseUi(undefined, true, { CI: 'true' }), 'plain');
  assert.equal(chooseUi(undefined, true, { CI: 'false' }), 'ink');
  assert.equal(chooseUi(undefined, true, { CONTINUOUS_INTEGRATION: '1' }), 'plain');
  assert.equal(chooseUi(undefined, true, { TERM: 'dumb' }), 'plain');
  assert.equal(chooseUi('ink', false, { CI: 'true' }), 'ink');
  assert.equal(chooseUi('plain', true, {}), 'plain');
  assert.equal(chooseUi('json', true, {}), 'json');
});

function recorder(): Reporter & { events: RunEvent[]; interrupts: number; closed: boolean } {
  const r = {
    events: [] as RunEvent[],
    interrupts: 0,
    closed: false,
    emit: (e: RunEvent) => void r.events.push(e),
    interrupted: () => void r.interrupts++,
    close: async () => {
      r.closed = true;
    },
  };
  return r;
}

test('deferred live view: a run with nothing to watch never loads it; the line reporter reports it', async () => {
  const fallback = recorder();
  let loads = 0;
  const r = deferredReporter({ load: async () => (loads++, recorder()), fallback, eager: false, delayMs: 10_000 });
  const events = [runStart({ data: 1 }), ev.cached('data'), ev.end({ cached: 1 })];
  for (const e of events) r.emit(e);
  await r.close();
  assert.equal(loads, 0);
  assert.deepEqual(fallback.events, events);
});

test('deferred live view: loaded when a node starts; events before and during loading are replayed in order', async () => {
  const fallback = recorder();
  const ui = recorder();
  let release!: () => void;
  const loaded = new Promise<void>((r) => (release = r));
  const r = deferredReporter({ load: async () => (await loaded, ui), fallback, eager: false, delayMs: 10_000 });
  const events = [runStart({ train: 1 }), ev.cached('data'), ev.start('train[seed=0]'), ev.progress('train[seed=0]', 0.5), ev.done('train[seed=0]', 5), ev.end({ ran: 1 })];
  for (const e of events) r.emit(e);
  r.interrupted();
  release();
  await r.close();
  assert.deepEqual(ui.events, events);
  assert.equal(ui.interrupts, 1);
  assert.equal(ui.closed, true);
  assert.deepEqual(fallback.events, []);
});

test('deferred live view: loaded after delayMs of a run still keying; eager loads at once; a failed load falls back', async () => {
  const slow = recorder();
  const r = deferredReporter({ load: async () => slow, fallback: recorder(), eager: false, delayMs: 20 });
  r.emit(runStart({ data: 1 }));
  await new Promise((res) => setTimeout(res, 80));
  r.emit(ev.cached('data'));
  assert.equal(slow.events.length, 2, 'loaded by the timer, then fed directly');
  await r.close();

  let loads = 0;
  const eager = deferredReporter({ load: async () => (loads++, recorder()), fallback: recorder(), eager: true });
  assert.equal(loads, 1);
  await eager.close();

  const fallback = recorder();
  const errors: unknown[] = [];
  const broken = deferredReporter({ load: () => Promise.reject(new Error('no ink')), fallback, eager: false, onLoadError: (e) => errors.push(e) });
  const events = [runStart({ train: 1 }), ev.start('train[seed=0]'), ev.done('train[seed=0]', 1), ev.end({ ran: 1 })];
  for (const e of events) broken.emit(e);
  await broken.close();
  assert.deepEqual(fallback.events, events);
  assert.equal(errors.length, 1);
});
