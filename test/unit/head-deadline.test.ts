import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { HeadDeadline } from '../../src/http/head-deadline.js';

/** A socket as the deadline sees it: a byte count and a close event. */
const fakeSocket = (): Socket & { bytesRead: number } => Object.assign(new EventEmitter(), { bytesRead: 0 }) as unknown as Socket & { bytesRead: number };

/** Moves the clock in steps of the deadline's check (mock timers show an interval the end time of one long tick). */
const advance = (ms: number): void => {
  for (let left = ms; left > 0; left -= 250) mock.timers.tick(Math.min(250, left));
};

test('a tunnel socket idle for hours is left alone; one whose head started arriving runs out after the deadline', () => {
  mock.timers.enable({ apis: ['setInterval', 'Date'] });
  try {
    const expired: Socket[] = [];
    const deadline = new HeadDeadline(1_000, (s) => expired.push(s));
    const idle = fakeSocket();
    const slow = fakeSocket();
    deadline.watch(idle);
    deadline.watch(slow);
    advance(3 * 3600_000);
    assert.deepEqual(expired, [], 'idle sockets untouched');
    slow.bytesRead = 40;
    advance(750);
    assert.deepEqual(expired, [], 'not yet');
    advance(500);
    assert.deepEqual(expired, [slow], 'expired within a check of the deadline after its first bytes were seen');
    deadline.close();
  } finally {
    mock.timers.reset();
  }
});

test('no deadline while a request is being answered; a new one starts from the bytes after its answer', () => {
  mock.timers.enable({ apis: ['setInterval', 'Date'] });
  try {
    const expired: Socket[] = [];
    const deadline = new HeadDeadline(1_000, (s) => expired.push(s));
    const s = fakeSocket();
    deadline.watch(s);
    s.bytesRead = 500;
    deadline.busy(s);
    s.bytesRead = 90_000; // its body, for a minute
    advance(60_000);
    assert.deepEqual(expired, []);
    deadline.idle(s);
    advance(10_000);
    assert.deepEqual(expired, [], 'idle again after the answer');
    s.bytesRead += 10;
    advance(1_250);
    assert.deepEqual(expired, [s]);
    deadline.close();
  } finally {
    mock.timers.reset();
  }
});
