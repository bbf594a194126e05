/**
 * The admin's live view on a real embedded node: the node list with actors and mailbox depths by kind, restarts
 * and uptime; the node's actor tree; one execution's actors with their states while it runs; and the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { login, sessionApi, type Session } from '../support/session.js';
import { readSse } from '../support/sse-client.js';
import { waitFor } from '../support/wait.js';

let t: TestNode;
let user: Session;
beforeAll(async () => {
  t = await startTestNode();
  expect((await t.api('/auth/register', { method: 'POST', json: { username: 'viewer', email: 'v@example.com', password: 'viewer-password-1' } })).status).toBe(200);
  user = await login(t.base, 'viewer', 'viewer-password-1');
});
afterAll(async () => t?.stop());

describe('live actor state', () => {
  it("shows a running execution's actors and their states, then none once it is done", async () => {
    const id = await t.submit('import time\nprint("hi", flush=True)\ntime.sleep(2)');
    await waitFor(async () => (await t.api(`/executions/${id}/result`)).body.status === 'running', { timeoutMs: 20_000 });
    const view = (await t.api(`/admin/cluster/actors?execution_id=${id}`)).body;
    expect(view).toMatchObject({ execution_id: id, status: 'running', node_id: t.node.nodeId, hosted: true });
    const byKind = Object.fromEntries(view.actors.map((a: { kind: string }) => [a.kind, a]));
    expect(Object.keys(byKind).sort()).toEqual(['execution', 'pod-watch', 'saga']);
    expect(byKind['saga'].state.status).toBe('running');
    expect(byKind['saga'].path).toMatch(new RegExp(`/partitions/partition-\\d+/saga-${id}$`));
    expect(JSON.stringify(view)).not.toContain('time.sleep');

    await t.stream(id);
    await waitFor(async () => (await t.api(`/admin/cluster/actors?execution_id=${id}`)).body.hosted === false, { timeoutMs: 10_000 });
  });

  it('lists nodes with uptime, actors and mailbox depths by kind and restarts, and answers with the actor tree', async () => {
    await waitFor(async () => ((await t.api('/admin/cluster/nodes')).body.nodes[0]?.mailboxes ?? null) !== null, { timeoutMs: 10_000 });
    const [node] = (await t.api('/admin/cluster/nodes')).body.nodes;
    expect(node.nodeId).toBe(t.node.nodeId);
    expect(node.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect(node.actors.partition).toBeGreaterThan(0);
    expect(node.mailboxes).toHaveProperty('partition');
    expect(node.restarts).toBe(0);
    const tree = (await t.api(`/admin/cluster/nodes/${t.node.nodeId}/actors`)).body.tree;
    expect(tree.children.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['partitions', 'admission']));
  });

  it('sends the view as SSE, and answers 404, 422 and 403 where it should', async () => {
    const { messages } = await readSse(`${t.base}/admin/cluster/stream`, { headers: t.session.headers(), timeoutMs: 5_000, until: (m) => m.event === 'cluster' });
    expect(messages[0]?.event).toBe('cluster');
    expect(JSON.parse(messages[0]!.data).nodes[0].nodeId).toBe(t.node.nodeId);
    expect((await t.api('/admin/cluster/nodes/no-such-node/actors')).status).toBe(404);
    expect((await t.api('/admin/cluster/actors?execution_id=00000000-0000-7000-8000-000000000000')).status).toBe(404);
    const bad = await t.api('/admin/cluster/actors');
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain('execution_id');
    const asUser = sessionApi(t.base, user);
    for (const path of ['/admin/cluster/nodes', `/admin/cluster/nodes/${t.node.nodeId}/actors`, '/admin/cluster/actors?execution_id=x', '/admin/cluster/stream']) {
      expect((await asUser(path)).status, path).toBe(403);
    }
  });
});
