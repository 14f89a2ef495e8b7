// reportOutdated(): any number of reports, from any number of clients, make one refresh
// job per interval, and the Python worker takes the job, fetches and answers it.

import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import { adminRedis, followingThroughProxy, nextRevision, serveRevision, serviceRefreshesTo, startedSubscriber, stubFetches, waitUntil, world } from './support.js';

const jobs = `${world.prefix}:refresh-jobs`;
let admin;
before(() => {
  admin = adminRedis();
});
after(() => admin.quit());
// Each test starts a new interval (the service's own reports would share it).
beforeEach(() => admin.del(`${world.prefix}:outdated-report`));

async function jobsAfter(id) {
  return admin.xrange(jobs, `(${id}`, '+');
}

async function lastJobId() {
  const [last] = await admin.xrevrange(jobs, '+', '-', 'COUNT', 1);
  return last ? last[0] : '0-0';
}

test('a storm of reports from 60 clients enqueues one job, which the worker answers with one fetch', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const fleet = await Promise.all(Array.from({ length: 60 }, () => startedSubscriber()));
  try {
    const since = await lastJobId();
    const fetches = await stubFetches();
    await serveRevision(revision + 1); // WhatsApp moved on; every gateway gets 405
    const answers = await Promise.all(fleet.map((versions) => versions.reportOutdated(versions.current.array)));
    assert.equal(answers.filter(Boolean).length, 1);
    const added = await jobsAfter(since);
    assert.equal(added.length, 1);
    await waitUntil(() => fleet.every((versions) => versions.current.string === `2.3000.${revision + 1}`), {
      what: 'every client to hold the version the worker fetched',
    });
    assert.equal((await stubFetches()) - fetches, 1);
    const again = await Promise.all(fleet.map((versions) => versions.reportOutdated()));
    assert.deepEqual(new Set(again), new Set([false])); // the interval is still running
    assert.equal((await jobsAfter(since)).length, 1);
  } finally {
    await Promise.all(fleet.map((versions) => versions.close()));
  }
});

test("the Node client's job is one the Python worker takes, fetches for and answers", async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const versions = await startedSubscriber();
  try {
    const since = await lastJobId();
    await serveRevision(revision + 1);
    assert.equal(await versions.reportOutdated(`2.3000.${revision}`), true);
    const [[, fields]] = await jobsAfter(since);
    const job = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
    assert.equal(job.force, '1');
    assert.match(job.job_id, /^[0-9a-f]{32}$/);
    await waitUntil(() => versions.current.string === `2.3000.${revision + 1}`, { what: 'the fetched version' });
    const answer = JSON.parse(await admin.get(`${world.prefix}:refresh-result:${job.job_id}`));
    assert.equal(answer.refreshed, true);
    assert.equal(answer.error, '');
    assert.equal(answer.state.wa_web_version.string, `2.3000.${revision + 1}`);
  } finally {
    await versions.close();
  }
});

test('a report about a version older than the one held asks nothing', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const versions = await startedSubscriber();
  try {
    const since = await lastJobId();
    assert.equal(await versions.reportOutdated([2, 3000, revision - 1]), false);
    assert.equal(await admin.exists(`${world.prefix}:outdated-report`), 0);
    assert.equal((await jobsAfter(since)).length, 0);
    await assert.rejects(versions.reportOutdated('2.3000.01'), /not a version/);
  } finally {
    await versions.close();
  }
});

test('a report Redis never received rejects and does not mute the next one', async () => {
  const { link, versions, close } = await followingThroughProxy();
  try {
    link.cut();
    await waitUntil(() => !versions.connected, { what: 'the cut' });
    await assert.rejects(versions.reportOutdated());
    link.restore();
    await waitUntil(() => versions.connected, { what: 'the reconnection' });
    assert.equal(await versions.reportOutdated(), true);
  } finally {
    await close();
  }
});

test('a report key without an expiry (set by hand) mutes nothing: the report takes it over', async () => {
  const revision = await nextRevision();
  await serviceRefreshesTo(revision);
  const versions = await startedSubscriber();
  try {
    await admin.set(`${world.prefix}:outdated-report`, '1');
    const since = await lastJobId();
    assert.equal(await versions.reportOutdated(), true);
    assert.equal((await jobsAfter(since)).length, 1);
    assert.ok((await admin.pttl(`${world.prefix}:outdated-report`)) > 0);
  } finally {
    await versions.close();
  }
});
