/** POST /commit: HTTP ⇄ CommitService. */
import type { CommitRequest } from '../containers/commit.js';
import type { RunConfig } from '../images/types.js';
import { invalid } from '../lib/errors.js';
import { readJSON, sendJSON, type Router } from './router.js';

/** What POST /commit calls (containers/commit.ts's CommitService). */
export interface CommitOps {
  /** Writes the container's changes as a new image; resolves with its ID. */
  commit(req: CommitRequest): Promise<string>;
}

export function registerCommitRoutes(r: Router, commits: CommitOps): void {
  r.add('POST', '/commit', async (ctx) => {
    const q = ctx.query;
    const container = q.get('container') ?? '';
    if (container === '') throw invalid('No container name or ID supplied');
    const body = await readJSON<RunConfig>(ctx);
    const config = Object.keys(body).length > 0 ? body : undefined;
    // The docker CLI sends each --change as its own `changes` value; older clients join them with newlines.
    const changes = q
      .getAll('changes')
      .flatMap((c) => c.split('\n'))
      .filter((c) => c.trim() !== '');
    const pause = q.get('pause');
    const id = await commits.commit({
      container,
      ...(q.get('repo') ? { repo: q.get('repo') as string } : {}),
      ...(q.get('tag') ? { tag: q.get('tag') as string } : {}),
      ...(q.get('comment') ? { comment: q.get('comment') as string } : {}),
      ...(q.get('author') ? { author: q.get('author') as string } : {}),
      pause: !(pause === '0' || pause === 'false'),
      changes,
      ...(config ? { config } : {}),
    });
    sendJSON(ctx, 201, { Id: id });
  });
}
