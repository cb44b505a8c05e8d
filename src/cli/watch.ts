/** Following a run until it ends: `snapset watch` and `create --watch`. */
import type { Client } from '@temporalio/client';
import { progressQuery, type SnapsetProgress } from '../shared/workflow-api.js';
import { EXIT, type CliIo } from './context.js';

function describeProgress(p: SnapsetProgress): string {
  const wait = p.certWait && p.phase === 'waiting-cert-rotation' && !p.certWait.endedAt ? ` (wakes ${p.certWait.wakeAt})` : '';
  return `${p.phase}${wait}: ${p.details}`;
}

export async function watchRun(client: Client, workflowId: string, io: CliIo): Promise<number> {
  const handle = client.workflow.getHandle(workflowId);
  let last = '';
  for (;;) {
    const desc = await handle.describe();
    if (desc.status.name === 'RUNNING') {
      try {
        const line = describeProgress(await handle.query(progressQuery));
        if (line !== last) io.out(`${new Date().toISOString()}  ${line}`);
        last = line;
      } catch {
        // No worker yet to answer the query: keep waiting.
      }
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (desc.status.name === 'COMPLETED') {
      io.out(JSON.stringify(await handle.result(), null, 2));
      return EXIT.ok;
    }
    try {
      await handle.result();
    } catch (err) {
      const cause = (err as { cause?: Error }).cause;
      io.out(`${desc.status.name}: ${cause?.message ?? (err as Error).message}`);
    }
    return EXIT.failed;
  }
}
